/** Broken streams and broken bodies: where they strike is neutral, their frames are the dialect's. */
import { PROVIDERS } from '../../../runtime/types.ts';
import { bool, type FaultDefinition, type FaultId, num, str } from '../fault.ts';
import { providersWhere } from '../providers/index.ts';
import {
  onStream,
  rewrittenHeaders,
  STRIKE_PARAMS,
  strikeParams,
  strikeStream,
  truncateJson,
  withBody,
} from '../rewrite.ts';
import type { Framing } from '../streams.ts';

export const streamFaults: FaultDefinition[] = [
  {
    id: 'stream_cut',
    description:
      'The stream ends after N chunks, N characters or N text deltas, without its terminator ([DONE], message_stop, done:true): cleanly, or abruptly (body error / socket torn down).',
    category: 'stream',
    providers: PROVIDERS,
    stream: 'stream',
    endpoints: 'generation',
    params: {
      ...strikeParams(3, 'before the cut'),
      abrupt: {
        type: 'boolean',
        default: false,
        description: 'Error the body instead of ending it cleanly.',
      },
    },
    exclusiveParams: STRIKE_PARAMS,
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: strikeStream(params, () => ({ after: bool(params, 'abrupt') ? 'error' : 'end' })),
    }),
  },
  {
    id: 'stream_error_event',
    description:
      'An error inside a 200 stream after N chunks: OpenAI `data: {"error":…}`, Anthropic `event: error` (overloaded_error), Ollama `{"error":…}` line.',
    category: 'stream',
    providers: PROVIDERS,
    stream: 'stream',
    endpoints: 'generation',
    params: {
      ...strikeParams(2, 'before the error event'),
      errorType: { type: 'string', default: 'overloaded_error', description: 'Anthropic error type.' },
      message: { type: 'string', default: '', description: 'Message (default: provider-typical).' },
    },
    exclusiveParams: STRIKE_PARAMS,
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: strikeStream(params, (index, ctx) => ({
        emit: [
          ctx.dialect.streamError(
            { errorType: str(params, 'errorType'), message: str(params, 'message') },
            index,
            ctx.info,
          ),
        ],
        after: 'end',
      })),
    }),
  },
  {
    id: 'empty_body',
    description:
      'A 200 with the usual headers and an empty body: no JSON at all, or a stream with no event in it.',
    category: 'malformed',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: {},
    action: () => ({
      kind: 'upstream',
      transform: (response) => {
        if (!response.ok) return response;
        response.body?.cancel().catch(() => {});
        const headers = rewrittenHeaders(response);
        headers.set('content-length', '0');
        return new Response('', { status: response.status, headers });
      },
    }),
  },
  {
    id: 'malformed_json',
    description: 'A 200 whose JSON body is cut mid-value (a proxy truncating the body).',
    category: 'malformed',
    providers: PROVIDERS,
    stream: 'non-stream',
    endpoints: 'any',
    params: {
      keepFraction: { type: 'number', default: 0.5, min: 0, max: 1, description: 'Share of the body kept.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: async (response) => {
        if (!response.ok) return response;
        return withBody(response, truncateJson(await response.text(), num(params, 'keepFraction')));
      },
    }),
  },
  garbledFrame(
    'malformed_sse',
    'sse',
    'One SSE event (chunk N) arrives with its JSON data cut mid-value; the rest of the stream follows.',
    'event',
    (frame) => {
      const lines = frame.replace(/(\r?\n)+$/, '').split(/\r?\n/);
      const garbled = lines.map((line) =>
        line.startsWith('data:') ? `data: ${truncateJson(line.slice(5).trim(), 0.5)}` : line,
      );
      return `${garbled.join('\n')}\n\n`;
    },
  ),
  garbledFrame(
    'malformed_ndjson',
    'ndjson',
    'One NDJSON line (line N) cut mid-value; ollama-js skips it silently, losing text.',
    'line',
    (frame) => `${truncateJson(frame.trimEnd(), 0.5)}\n`,
  ),
];

/** One frame (chunk N) of every stream with this framing garbled; the rest of the stream follows. */
function garbledFrame(
  id: FaultId,
  framing: Framing,
  description: string,
  frameName: string,
  garble: (frame: string) => string,
): FaultDefinition {
  return {
    id,
    description,
    category: 'malformed',
    providers: providersWhere((d) => d.framing === framing),
    stream: 'stream',
    endpoints: 'generation',
    params: {
      atChunk: {
        type: 'number',
        default: 1,
        min: 0,
        description: `0-based index of the garbled ${frameName}.`,
      },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: onStream(() => ({
        frame: (frame, index) => (index === num(params, 'atChunk') ? { emit: [garble(frame)] } : undefined),
      })),
    }),
  };
}
