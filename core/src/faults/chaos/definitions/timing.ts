/** Transport failures and latency: the same for every provider (only a stream's framing differs). */
import { PROVIDERS } from '../../../runtime/types.ts';
import type { FaultDefinition } from '../fault.ts';
import { num } from '../fault.ts';
import { onStream, STRIKE_PARAMS, strikeParams, strikeStream, withBody } from '../rewrite.ts';
import { delayClose, sliceBytes, stallingBody } from '../streams.ts';

export const timingFaults: FaultDefinition[] = [
  {
    id: 'connection_refused',
    description:
      'Nothing accepts the connection (ECONNREFUSED): the proxy redirects the request (307) to a closed loopback port, so a fetch-based client that follows redirects (every official JS SDK) gets a real refusal; in-process a fetch TypeError with code ECONNREFUSED.',
    category: 'transport',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'connection_refused' }),
  },
  {
    id: 'connection_reset',
    description: 'TCP RST (Toxiproxy reset_peer): the proxy resets the socket; in-process a fetch TypeError.',
    category: 'transport',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'connection_reset' }),
  },
  {
    id: 'half_close',
    description:
      'The server half-closes (FIN) without answering while the client still waits; in-process a fetch TypeError.',
    category: 'transport',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'half_close' }),
  },
  {
    id: 'no_response',
    description: 'Headers never come (Toxiproxy timeout): only the client timeout or an abort ends the call.',
    category: 'transport',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'no_response' }),
  },
  {
    id: 'latency',
    description: 'Delay before the response headers (Polly latency / Envoy delay / Toxiproxy latency).',
    category: 'latency',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: { delayMs: { type: 'number', default: 2000, min: 0, description: 'Added delay.' } },
    action: (_ctx, params) => ({ kind: 'upstream', delayMs: num(params, 'delayMs') }),
  },
  {
    id: 'slow_first_token',
    description:
      'Streams: headers at once, then a wait before the first chunk (time to first token). Non-stream: a wait before the response.',
    category: 'latency',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: {
      delayMs: { type: 'number', default: 5000, min: 0, description: 'Wait before the first chunk.' },
    },
    action(ctx, params) {
      const delayMs = num(params, 'delayMs');
      if (!ctx.info.stream) return { kind: 'upstream', delayMs };
      return {
        kind: 'upstream',
        transform: onStream(() => ({ frame: (_f, i) => (i === 0 ? { delayMs } : undefined) })),
      };
    },
  },
  {
    id: 'stall_after_headers',
    description:
      'Status and headers arrive, then the body never completes (streams after N chunks); SDK header timeouts do not cover it.',
    category: 'latency',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: strikeParams(1, 'before the stall (streams)'),
    exclusiveParams: STRIKE_PARAMS,
    action(ctx, params) {
      if (ctx.info.stream)
        return { kind: 'upstream', transform: strikeStream(params, () => ({ after: 'stall' })) };
      return {
        kind: 'upstream',
        transform: (response, c) => {
          response.body?.cancel().catch(() => {});
          return withBody(response, stallingBody(new Uint8Array(0), c));
        },
      };
    },
  },
  {
    id: 'byte_by_byte',
    description:
      'The body trickles a few bytes at a time with a delay between writes (Toxiproxy slicer/bandwidth); each write is flushed on the proxy.',
    category: 'latency',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {
      bytesPerChunk: { type: 'number', default: 1, min: 1, description: 'Bytes per write.' },
      delayMs: { type: 'number', default: 5, min: 0, description: 'Delay before each write.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: (response, c) =>
        response.body
          ? withBody(
              response,
              sliceBytes(response.body, num(params, 'bytesPerChunk'), num(params, 'delayMs'), c),
            )
          : response,
    }),
  },
  {
    id: 'slow_close',
    description: 'The whole body arrives but the end of the response is held back (Toxiproxy slow_close).',
    category: 'latency',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {
      delayMs: { type: 'number', default: 2000, min: 0, description: 'Delay before the body ends.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: (response, c) =>
        response.body ? withBody(response, delayClose(response.body, num(params, 'delayMs'), c)) : response,
    }),
  },
];
