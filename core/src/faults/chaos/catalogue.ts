/**
 * The fault catalogue: every way a provider fails that Switchyard must survive, each a typed,
 * documented definition that turns a request into an action (a synthetic response, a transport
 * failure, or a change to the upstream's response). Error bodies and headers follow each provider's
 * exact wire shape (see shared/notes/provider-wire-facts.md); vocabulary borrows from Polly (fault,
 * outcome, latency), Toxiproxy (reset_peer, slow_close, slicer, timeout) and Envoy (abort, delay).
 */
import type { Clock } from '../../runtime/clock.ts';
import {
  editResponseBody,
  isResponsesApi,
  responsesErrorEvent,
  responsesFrameEditor,
} from './responses-api.ts';
import {
  delayClose,
  type FrameOp,
  type FrameTransform,
  type Framing,
  sliceBytes,
  sseData,
  sseFrame,
  stallingBody,
  transformFrames,
} from './streams.ts';
import {
  formatOpenAIDuration,
  isRecord,
  PROVIDERS,
  type Provider,
  type ProviderErrorSpec,
  providerErrorResponse,
  type RequestInfo,
  rfc3339,
} from './wire.ts';

export const FAULT_IDS = [
  'rate_limit',
  'quota_exhausted',
  'server_error',
  'bad_gateway',
  'service_unavailable',
  'gateway_timeout',
  'overloaded',
  'http_error',
  'connection_refused',
  'connection_reset',
  'half_close',
  'no_response',
  'latency',
  'slow_first_token',
  'stall_after_headers',
  'byte_by_byte',
  'slow_close',
  'stream_cut',
  'stream_error_event',
  'malformed_json',
  'empty_body',
  'malformed_sse',
  'malformed_ndjson',
  'unsupported_parameter',
  'context_length_exceeded',
  'invalid_api_key',
  'content_filter',
  'empty_content',
  'truncated_answer',
  'invalid_json_in_json_mode',
] as const;

export type FaultId = (typeof FAULT_IDS)[number];

export type ParamValue = number | string | boolean;
export type FaultParams = Record<string, ParamValue>;

export interface ParamSpec {
  type: 'number' | 'string' | 'boolean';
  default: ParamValue;
  description: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

/** Transport failures: on a socket (chaos proxy) they are real; in fetch-land they become fetch errors. */
export type TransportFault = 'connection_reset' | 'connection_refused' | 'half_close' | 'no_response';

export interface FaultContext {
  info: RequestInfo & { provider: Provider };
  clock: Clock;
  signal: AbortSignal | undefined;
  /** A deterministic, provider-shaped request id (req_… ). */
  requestId(): string;
}

export type ResponseTransform = (response: Response, ctx: FaultContext) => Response | Promise<Response>;

export type FaultAction =
  /** Answer without calling upstream, optionally after a delay. */
  | { kind: 'respond'; response: Response; delayMs?: number }
  | { kind: 'transport'; transport: TransportFault }
  /** Call upstream (after an optional delay) and optionally rewrite its response. */
  | { kind: 'upstream'; delayMs?: number; transform?: ResponseTransform };

export interface FaultDefinition {
  id: FaultId;
  description: string;
  category: 'http_error' | 'transport' | 'latency' | 'stream' | 'malformed' | 'content';
  providers: readonly Provider[];
  /** Which calls it can hit. */
  stream: 'any' | 'stream' | 'non-stream';
  /** 'generation' = chat/messages/generate only; 'any' also hits /v1/models, /api/tags, … */
  endpoints: 'any' | 'generation';
  /** Only meaningful when JSON mode was asked (OpenAI/Ollama); Anthropic has JSON by instruction. */
  requiresJsonMode?: boolean;
  params: Record<string, ParamSpec>;
  /** Parameters of which at most one may be given (e.g. where a stream fault strikes). */
  exclusiveParams?: readonly string[];
  action(ctx: FaultContext, params: FaultParams): FaultAction;
}

// ---------------------------------------------------------------------------------------------
// helpers

const num = (params: FaultParams, name: string): number => Number(params[name]);
const str = (params: FaultParams, name: string): string => String(params[name]);
const bool = (params: FaultParams, name: string): boolean => params[name] === true;

function errorAction(ctx: FaultContext, status: number, spec: ProviderErrorSpec): FaultAction {
  return {
    kind: 'respond',
    response: providerErrorResponse(ctx.info.provider, status, { requestId: ctx.requestId(), ...spec }),
  };
}

/** Like a real load balancer (Cloudflare/nginx): an HTML page, not the provider's JSON. */
function htmlErrorResponse(status: number, reason: string): Response {
  const html =
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n` +
    `<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`;
  return new Response(html, { status, headers: { 'content-type': 'text/html', server: 'cloudflare' } });
}

/** Copies response headers minus those that no longer describe a rewritten body. */
export function rewrittenHeaders(response: Response): Headers {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return headers;
}

function framingOf(provider: Provider): Framing {
  return provider === 'ollama' ? 'ndjson' : 'sse';
}

/** Rewrites the upstream body frame by frame when it is a stream (pass-through otherwise). */
function onStream(make: (ctx: FaultContext) => FrameTransform): ResponseTransform {
  return (response, ctx) => {
    if (!response.ok || !response.body) return response;
    const body = transformFrames(response.body, framingOf(ctx.info.provider), make(ctx), ctx);
    return new Response(body, { status: response.status, headers: rewrittenHeaders(response) });
  };
}

/** True for the frame that marks a complete stream: [DONE] (response.completed…), message_stop, or done:true. */
export function isTerminalFrame(provider: Provider, frame: string): boolean {
  if (provider === 'openai')
    return (
      /^data: ?\[DONE\]/m.test(frame) || /^event: ?response\.(completed|incomplete|failed)\b/m.test(frame)
    );
  if (provider === 'anthropic') return /^event: ?message_stop/m.test(frame);
  try {
    const line = JSON.parse(frame);
    return isRecord(line) && line.done === true;
  } catch {
    return false;
  }
}

/** A stateful text rewriter applied to every text delta of one response, in order. */
interface TextEditor {
  edit(text: string): string;
  /** Finish reason to report instead of the upstream's. */
  finish?: Partial<Record<Provider, string>>;
}

/** Rewrites text and finish reason in a JSON body or a stream, per provider. */
function contentTransform(makeEditor: () => TextEditor): ResponseTransform {
  return async (response, ctx) => {
    if (!response.ok) return response;
    const provider = ctx.info.provider;
    const editor = makeEditor();
    const finish = editor.finish?.[provider];
    const edit = (text: string) => editor.edit(text);
    if (ctx.info.stream && response.body) {
      const frame = isResponsesApi(ctx.info)
        ? responsesFrameEditor(edit, finish)
        : (text: string) => editFrame(provider, text, editor, finish);
      return onStream(() => ({ frame }))(response, ctx);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return new Response(text, { status: response.status, headers: rewrittenHeaders(response) });
    }
    if (!editResponseBody(json, edit, finish)) editBody(provider, json, editor, finish);
    return new Response(JSON.stringify(json), {
      status: response.status,
      headers: rewrittenHeaders(response),
    });
  };
}

function editBody(provider: Provider, json: unknown, editor: TextEditor, finish: string | undefined): void {
  if (!isRecord(json)) return;
  if (provider === 'openai' && Array.isArray(json.choices)) {
    for (const choice of json.choices) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice.message) && typeof choice.message.content === 'string') {
        choice.message.content = editor.edit(choice.message.content);
      }
      if (finish) choice.finish_reason = finish;
    }
  } else if (provider === 'anthropic' && Array.isArray(json.content)) {
    for (const block of json.content) {
      if (isRecord(block) && block.type === 'text' && typeof block.text === 'string') {
        block.text = editor.edit(block.text);
      }
    }
    if (finish) json.stop_reason = finish;
  } else if (provider === 'ollama') {
    if (isRecord(json.message) && typeof json.message.content === 'string') {
      json.message.content = editor.edit(json.message.content);
    }
    if (typeof json.response === 'string') json.response = editor.edit(json.response);
    if (finish && json.done === true) json.done_reason = finish;
  }
}

/** One frame: edit its text delta (drop the frame if the text became empty) and its finish reason. */
function editFrame(
  provider: Provider,
  frame: string,
  editor: TextEditor,
  finish: string | undefined,
): FrameOp | undefined {
  if (provider === 'ollama') {
    let line: unknown;
    try {
      line = JSON.parse(frame);
    } catch {
      return undefined;
    }
    if (!isRecord(line)) return undefined;
    let dropped = false;
    for (const holder of [line.message, line]) {
      const key = holder === line ? 'response' : 'content';
      if (isRecord(holder) && typeof holder[key] === 'string' && holder[key] !== '') {
        holder[key] = editor.edit(holder[key] as string);
        dropped = holder[key] === '' && line.done !== true;
      }
    }
    if (dropped) return { emit: [] };
    if (finish && line.done === true) line.done_reason = finish;
    return { emit: [`${JSON.stringify(line)}\n`] };
  }
  const parsed = sseData(frame);
  if (!parsed || !isRecord(parsed.data)) return undefined;
  const data = parsed.data;
  if (provider === 'openai' && Array.isArray(data.choices)) {
    let dropped = false;
    for (const choice of data.choices) {
      if (!isRecord(choice)) continue;
      const delta = choice.delta;
      if (isRecord(delta) && typeof delta.content === 'string' && delta.content !== '') {
        delta.content = editor.edit(delta.content);
        dropped = delta.content === '' && choice.finish_reason == null && delta.role === undefined;
      }
      if (finish && choice.finish_reason != null) choice.finish_reason = finish;
    }
    return { emit: dropped ? [] : [sseFrame(data)] };
  }
  if (provider === 'anthropic') {
    const delta = data.delta;
    if (data.type === 'content_block_delta' && isRecord(delta) && delta.type === 'text_delta') {
      if (typeof delta.text === 'string' && delta.text !== '') delta.text = editor.edit(delta.text);
      if (delta.text === '') return { emit: [] };
      return { emit: [sseFrame(data, parsed.event)] };
    }
    if (data.type === 'message_delta' && isRecord(delta) && finish) {
      delta.stop_reason = finish;
      return { emit: [sseFrame(data, parsed.event)] };
    }
  }
  return undefined;
}

function budgetEditor(maxChars: number, finish?: Partial<Record<Provider, string>>): TextEditor {
  let remaining = Math.max(0, Math.floor(maxChars));
  return {
    edit(text) {
      const kept = text.slice(0, remaining);
      remaining -= kept.length;
      return kept;
    },
    ...(finish ? { finish } : {}),
  };
}

/** Where a stream fault strikes, given by one of these parameters (at most one). */
const STRIKE_PARAMS = ['afterChunks', 'afterChars', 'afterTokens'] as const;
const UNSET = -1;

function strikeParams(chunksDefault: number, what: string): Record<string, ParamSpec> {
  return {
    afterChunks: {
      type: 'number',
      default: chunksDefault,
      min: 0,
      description: `Chunks (SSE events / NDJSON lines) delivered ${what}.`,
    },
    afterChars: {
      type: 'number',
      default: UNSET,
      min: UNSET,
      description: `Characters of answer text delivered ${what} (the chunk that reaches them is cut there); -1: not used.`,
    },
    afterTokens: {
      type: 'number',
      default: UNSET,
      min: UNSET,
      description: `Text deltas delivered ${what} (a provider sends about one token per delta); -1: not used.`,
    },
  };
}

/**
 * The point where a stream fault strikes: after N frames, N characters of text, or N text deltas.
 * Returns, per frame, undefined to pass it, or the frames to emit before striking (the frame that
 * reaches N characters goes out cut to exactly N). A terminator is never let through.
 */
function strikePoint(
  provider: Provider,
  params: FaultParams,
): (frame: string, index: number) => { before: string[] } | undefined {
  const chars = num(params, 'afterChars');
  const tokens = num(params, 'afterTokens');
  const chunks = num(params, 'afterChunks');
  if (chars !== UNSET) {
    let seen = 0;
    return (frame) => {
      if (isTerminalFrame(provider, frame)) return { before: [] };
      let reached = false;
      const op = editFrame(
        provider,
        frame,
        {
          edit(text) {
            const kept = text.slice(0, Math.max(0, chars - seen));
            seen += kept.length;
            reached = seen >= chars;
            return kept;
          },
        },
        undefined,
      );
      return reached ? { before: op?.emit ?? [frame] } : undefined;
    };
  }
  if (tokens !== UNSET) {
    let deltas = 0;
    return (frame) => {
      if (isTerminalFrame(provider, frame)) return { before: [] };
      let text = false;
      const spot = (t: string) => {
        text = true;
        return t;
      };
      editFrame(provider, frame, { edit: spot }, undefined);
      if (!text) return undefined;
      if (deltas >= tokens) return { before: [] };
      deltas++;
      return undefined;
    };
  }
  return (frame, index) => (index >= chunks || isTerminalFrame(provider, frame) ? { before: [] } : undefined);
}

/** Half a JSON text: a body cut mid-value, which JSON.parse rejects. */
function truncateJson(text: string, fraction: number): string {
  const cut = Math.max(1, Math.min(text.length - 1, Math.floor(text.length * fraction)));
  return text.slice(0, cut);
}

const ALL = PROVIDERS;
const CLOUD: readonly Provider[] = ['openai', 'anthropic'];

const anthropicOverloaded = { type: 'overloaded_error', message: 'Overloaded' };

// ---------------------------------------------------------------------------------------------
// the catalogue

const definitions: FaultDefinition[] = [
  {
    id: 'rate_limit',
    description:
      '429 with the provider body and its rate-limit headers: retry-after (s), retry-after-ms and ' +
      'x-ratelimit-*-{requests,tokens} for OpenAI; retry-after and anthropic-ratelimit-*-reset (RFC 3339) for Anthropic.',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {
      retryAfterMs: { type: 'number', default: 1000, min: 0, description: 'Delay the headers ask for.' },
      limitType: {
        type: 'string',
        default: 'requests',
        choices: ['requests', 'tokens'],
        description: 'Which limit was hit.',
      },
      retryAfterHeader: { type: 'boolean', default: true, description: 'Send retry-after (seconds).' },
      retryAfterMsHeader: {
        type: 'boolean',
        default: true,
        description: 'Send retry-after-ms (OpenAI only).',
      },
    },
    action(ctx, params) {
      const ms = num(params, 'retryAfterMs');
      const limitType = str(params, 'limitType');
      const model = ctx.info.model ?? 'the model';
      const headers: Record<string, string> = {};
      if (bool(params, 'retryAfterHeader')) headers['retry-after'] = String(Math.ceil(ms / 1000));
      const provider = ctx.info.provider;
      if (provider === 'openai') {
        if (bool(params, 'retryAfterMsHeader')) headers['retry-after-ms'] = String(ms);
        const limits = { requests: 500, tokens: 30000 };
        for (const kind of ['requests', 'tokens'] as const) {
          const hit = kind === limitType;
          headers[`x-ratelimit-limit-${kind}`] = String(limits[kind]);
          headers[`x-ratelimit-remaining-${kind}`] = hit ? '0' : String(limits[kind] - 1);
          headers[`x-ratelimit-reset-${kind}`] = formatOpenAIDuration(hit ? ms : 120);
        }
        const what = limitType === 'tokens' ? 'tokens per min (TPM)' : 'requests per min (RPM)';
        const limit = limits[limitType === 'tokens' ? 'tokens' : 'requests'];
        return errorAction(ctx, 429, {
          type: limitType,
          code: 'rate_limit_exceeded',
          message:
            `Rate limit reached for ${model} in organization org-switchyardsim on ${what}: Limit ${limit}, ` +
            `Used ${limit}, Requested 1. Please try again in ${formatOpenAIDuration(ms)}. ` +
            'Visit https://platform.openai.com/account/rate-limits to learn more.',
          headers,
        });
      }
      if (provider === 'anthropic') {
        const reset = rfc3339(ctx.clock.now() + ms);
        for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
          const hit = kind === limitType || (limitType === 'tokens' && kind === 'input-tokens');
          headers[`anthropic-ratelimit-${kind}-limit`] = kind === 'requests' ? '50' : '40000';
          headers[`anthropic-ratelimit-${kind}-remaining`] = hit ? '0' : kind === 'requests' ? '49' : '39000';
          headers[`anthropic-ratelimit-${kind}-reset`] = hit ? reset : rfc3339(ctx.clock.now() + 1000);
        }
        const what = limitType === 'tokens' ? 'Number of request tokens' : 'Number of requests';
        return errorAction(ctx, 429, {
          type: 'rate_limit_error',
          message:
            `${what} has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); ` +
            'see the response headers for current usage. Please reduce the prompt length or the maximum tokens ' +
            'requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales ' +
            'to discuss your options for a rate limit increase.',
          headers,
        });
      }
      return errorAction(ctx, 429, { type: 'rate_limit', message: 'too many requests', headers });
    },
  },
  {
    id: 'quota_exhausted',
    description:
      'Permanent: OpenAI 429 insufficient_quota (the SDKs still retry it), Anthropic 402 billing_error.',
    category: 'http_error',
    providers: CLOUD,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      if (ctx.info.provider === 'anthropic') {
        return errorAction(ctx, 402, {
          type: 'billing_error',
          message:
            'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
        });
      }
      return errorAction(ctx, 429, {
        type: 'insufficient_quota',
        code: 'insufficient_quota',
        message:
          'You exceeded your current quota, please check your plan and billing details. For more information on ' +
          'this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      });
    },
  },
  {
    id: 'server_error',
    description: '500: OpenAI server_error, Anthropic api_error, Ollama {"error":…}.',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      const p = ctx.info.provider;
      if (p === 'openai') {
        return errorAction(ctx, 500, {
          type: 'server_error',
          message:
            'The server had an error while processing your request. Sorry about that! You can retry your request, ' +
            'or contact us through our help center at help.openai.com if the error persists.',
        });
      }
      if (p === 'anthropic')
        return errorAction(ctx, 500, { type: 'api_error', message: 'Internal server error' });
      return errorAction(ctx, 500, {
        type: 'api_error',
        message: 'llama runner process has terminated: exit status 2',
      });
    },
  },
  {
    id: 'bad_gateway',
    description: '502 with an HTML page from the load balancer in front of the provider (not JSON).',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'respond', response: htmlErrorResponse(502, 'Bad Gateway') }),
  },
  {
    id: 'service_unavailable',
    description: '503: OpenAI/Anthropic JSON error body, Ollama "server busy" (its queue is full).',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      const p = ctx.info.provider;
      if (p === 'openai') {
        return errorAction(ctx, 503, {
          type: 'server_error',
          message: 'The server is overloaded or not ready yet.',
        });
      }
      if (p === 'anthropic')
        return errorAction(ctx, 503, { type: 'api_error', message: 'Service unavailable' });
      return errorAction(ctx, 503, {
        type: 'busy',
        message: 'server busy, please try again.  maximum pending requests exceeded',
      });
    },
  },
  {
    id: 'gateway_timeout',
    description: '504: Anthropic timeout_error JSON; OpenAI and Ollama an HTML page from the gateway.',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      if (ctx.info.provider === 'anthropic') {
        return errorAction(ctx, 504, { type: 'timeout_error', message: 'Request timed out' });
      }
      return { kind: 'respond', response: htmlErrorResponse(504, 'Gateway Time-out') };
    },
  },
  {
    id: 'overloaded',
    description: 'Anthropic 529 overloaded_error; OpenAI 503 "Slow Down"; Ollama 503 server busy.',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      const p = ctx.info.provider;
      if (p === 'anthropic') return errorAction(ctx, 529, anthropicOverloaded);
      if (p === 'openai') return errorAction(ctx, 503, { type: 'server_error', message: 'Slow Down' });
      return errorAction(ctx, 503, {
        type: 'busy',
        message: 'server busy, please try again.  maximum pending requests exceeded',
      });
    },
  },
  {
    id: 'http_error',
    description:
      'Any status with the provider-shaped error body (Envoy "abort"): for cases the catalogue lacks.',
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {
      status: { type: 'number', default: 500, min: 400, max: 599, description: 'HTTP status.' },
      type: { type: 'string', default: 'api_error', description: 'Provider error type.' },
      message: { type: 'string', default: 'Injected error', description: 'Error message.' },
    },
    action: (ctx, params) =>
      errorAction(ctx, num(params, 'status'), { type: str(params, 'type'), message: str(params, 'message') }),
  },
  {
    id: 'connection_refused',
    description:
      'Nothing accepts the connection (ECONNREFUSED): the proxy redirects the request (307) to a closed loopback port, so a fetch-based client that follows redirects (every official JS SDK) gets a real refusal; in-process a fetch TypeError with code ECONNREFUSED.',
    category: 'transport',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'connection_refused' }),
  },
  {
    id: 'connection_reset',
    description: 'TCP RST (Toxiproxy reset_peer): the proxy resets the socket; in-process a fetch TypeError.',
    category: 'transport',
    providers: ALL,
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
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'half_close' }),
  },
  {
    id: 'no_response',
    description: 'Headers never come (Toxiproxy timeout): only the client timeout or an abort ends the call.',
    category: 'transport',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'transport', transport: 'no_response' }),
  },
  {
    id: 'latency',
    description: 'Delay before the response headers (Polly latency / Envoy delay / Toxiproxy latency).',
    category: 'latency',
    providers: ALL,
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
    providers: ALL,
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
    providers: ALL,
    stream: 'any',
    endpoints: 'generation',
    params: strikeParams(1, 'before the stall (streams)'),
    exclusiveParams: STRIKE_PARAMS,
    action(ctx, params) {
      const provider = ctx.info.provider;
      if (ctx.info.stream) {
        return {
          kind: 'upstream',
          transform: onStream(() => {
            const strike = strikePoint(provider, params);
            return {
              frame: (frame, index) => {
                const at = strike(frame, index);
                return at ? { emit: at.before, after: 'stall' } : undefined;
              },
            };
          }),
        };
      }
      return {
        kind: 'upstream',
        transform: (response, c) => {
          response.body?.cancel().catch(() => {});
          return new Response(stallingBody(new Uint8Array(0), c), {
            status: response.status,
            headers: rewrittenHeaders(response),
          });
        },
      };
    },
  },
  {
    id: 'byte_by_byte',
    description:
      'The body trickles a few bytes at a time with a delay between writes (Toxiproxy slicer/bandwidth); each write is flushed on the proxy.',
    category: 'latency',
    providers: ALL,
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
          ? new Response(sliceBytes(response.body, num(params, 'bytesPerChunk'), num(params, 'delayMs'), c), {
              status: response.status,
              headers: rewrittenHeaders(response),
            })
          : response,
    }),
  },
  {
    id: 'slow_close',
    description: 'The whole body arrives but the end of the response is held back (Toxiproxy slow_close).',
    category: 'latency',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {
      delayMs: { type: 'number', default: 2000, min: 0, description: 'Delay before the body ends.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: (response, c) =>
        response.body
          ? new Response(delayClose(response.body, num(params, 'delayMs'), c), {
              status: response.status,
              headers: rewrittenHeaders(response),
            })
          : response,
    }),
  },
  {
    id: 'stream_cut',
    description:
      'The stream ends after N chunks, N characters or N text deltas, without its terminator ([DONE], message_stop, done:true): cleanly, or abruptly (body error / socket torn down).',
    category: 'stream',
    providers: ALL,
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
    action(ctx, params) {
      const after = bool(params, 'abrupt') ? 'error' : 'end';
      const provider = ctx.info.provider;
      return {
        kind: 'upstream',
        transform: onStream(() => {
          // Never lets the terminator through, even if the stream is shorter than N.
          const strike = strikePoint(provider, params);
          return {
            frame(frame, index) {
              const at = strike(frame, index);
              return at ? { emit: at.before, after } : undefined;
            },
          };
        }),
      };
    },
  },
  {
    id: 'stream_error_event',
    description:
      'An error inside a 200 stream after N chunks: OpenAI `data: {"error":…}`, Anthropic `event: error` (overloaded_error), Ollama `{"error":…}` line.',
    category: 'stream',
    providers: ALL,
    stream: 'stream',
    endpoints: 'generation',
    params: {
      ...strikeParams(2, 'before the error event'),
      errorType: { type: 'string', default: 'overloaded_error', description: 'Anthropic error type.' },
      message: { type: 'string', default: '', description: 'Message (default: provider-typical).' },
    },
    exclusiveParams: STRIKE_PARAMS,
    action(ctx, params) {
      const provider = ctx.info.provider;
      const custom = str(params, 'message');
      let event: string;
      if (isResponsesApi(ctx.info)) {
        // Numbered as the event it takes the place of.
        const message = custom || 'The server had an error while processing your request. Sorry about that!';
        // Responses API events are counted as chunks (afterChars/afterTokens read chat frames).
        const afterChunks = num(params, 'afterChunks');
        return {
          kind: 'upstream',
          transform: onStream(() => ({
            frame(frame, index) {
              if (index >= afterChunks || isTerminalFrame(provider, frame))
                return { emit: [responsesErrorEvent(message, index)], after: 'end' };
              return undefined;
            },
          })),
        };
      }
      if (provider === 'openai') {
        event = sseFrame({
          error: {
            message: custom || 'The server had an error while processing your request. Sorry about that!',
            type: 'server_error',
            param: null,
            code: null,
          },
        });
      } else if (provider === 'anthropic') {
        const type = str(params, 'errorType');
        event = sseFrame(
          {
            type: 'error',
            error: {
              type,
              message: custom || (type === 'overloaded_error' ? 'Overloaded' : 'Internal server error'),
            },
          },
          'error',
        );
      } else {
        event = `${JSON.stringify({ error: custom || 'an error was encountered while running the model: unexpected EOF' })}\n`;
      }
      return {
        kind: 'upstream',
        transform: onStream(() => {
          const strike = strikePoint(provider, params);
          return {
            frame(frame, index) {
              const at = strike(frame, index);
              return at ? { emit: [...at.before, event], after: 'end' } : undefined;
            },
          };
        }),
      };
    },
  },
  {
    id: 'empty_body',
    description:
      'A 200 with the usual headers and an empty body: no JSON at all, or a stream with no event in it.',
    category: 'malformed',
    providers: ALL,
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
    providers: ALL,
    stream: 'non-stream',
    endpoints: 'any',
    params: {
      keepFraction: { type: 'number', default: 0.5, min: 0, max: 1, description: 'Share of the body kept.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: async (response) => {
        if (!response.ok) return response;
        const text = await response.text();
        return new Response(truncateJson(text, num(params, 'keepFraction')), {
          status: response.status,
          headers: rewrittenHeaders(response),
        });
      },
    }),
  },
  {
    id: 'malformed_sse',
    description:
      'One SSE event (chunk N) arrives with its JSON data cut mid-value; the rest of the stream follows.',
    category: 'malformed',
    providers: CLOUD,
    stream: 'stream',
    endpoints: 'generation',
    params: {
      atChunk: { type: 'number', default: 1, min: 0, description: '0-based index of the garbled event.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: onStream(() => ({
        frame(frame, index) {
          if (index !== num(params, 'atChunk')) return undefined;
          const lines = frame.replace(/(\r?\n)+$/, '').split(/\r?\n/);
          const garbled = lines.map((line) =>
            line.startsWith('data:') ? `data: ${truncateJson(line.slice(5).trim(), 0.5)}` : line,
          );
          return { emit: [`${garbled.join('\n')}\n\n`] };
        },
      })),
    }),
  },
  {
    id: 'malformed_ndjson',
    description: 'One NDJSON line (line N) cut mid-value; ollama-js skips it silently, losing text.',
    category: 'malformed',
    providers: ['ollama'],
    stream: 'stream',
    endpoints: 'generation',
    params: {
      atChunk: { type: 'number', default: 1, min: 0, description: '0-based index of the garbled line.' },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: onStream(() => ({
        frame: (frame, index) =>
          index === num(params, 'atChunk')
            ? { emit: [`${truncateJson(frame.trimEnd(), 0.5)}\n`] }
            : undefined,
      })),
    }),
  },
  {
    id: 'unsupported_parameter',
    description:
      "400 with the provider's wording: OpenAI's max_tokens message, Anthropic's `x: Extra inputs are not permitted`, Ollama's `does not support tools`.",
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'generation',
    params: {
      param: { type: 'string', default: '', description: 'The rejected parameter (default per provider).' },
    },
    action(ctx, params) {
      const p = ctx.info.provider;
      if (p === 'openai') {
        const param = str(params, 'param') || 'max_tokens';
        const message =
          param === 'max_tokens'
            ? "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
            : `Unsupported parameter: '${param}' is not supported with this model.`;
        return errorAction(ctx, 400, {
          type: 'invalid_request_error',
          param,
          code: 'unsupported_parameter',
          message,
        });
      }
      if (p === 'anthropic') {
        const param = str(params, 'param') || 'max_completion_tokens';
        return errorAction(ctx, 400, {
          type: 'invalid_request_error',
          message: `${param}: Extra inputs are not permitted`,
        });
      }
      const model = ctx.info.model ?? 'model';
      return errorAction(ctx, 400, {
        type: 'invalid_request_error',
        message: `registry.ollama.ai/library/${model} does not support ${str(params, 'param') || 'tools'}`,
      });
    },
  },
  {
    id: 'context_length_exceeded',
    description:
      'The prompt does not fit: OpenAI 400 context_length_exceeded, Anthropic 400 "prompt is too long".',
    category: 'http_error',
    providers: CLOUD,
    stream: 'any',
    endpoints: 'generation',
    params: {
      limit: { type: 'number', default: 128000, min: 1, description: 'Context window in tokens.' },
      requested: { type: 'number', default: 130046, min: 1, description: 'Tokens the request had.' },
    },
    action(ctx, params) {
      const limit = num(params, 'limit');
      const requested = num(params, 'requested');
      if (ctx.info.provider === 'anthropic') {
        return errorAction(ctx, 400, {
          type: 'invalid_request_error',
          message: `prompt is too long: ${requested} tokens > ${limit} maximum`,
        });
      }
      return errorAction(ctx, 400, {
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
        message:
          `This model's maximum context length is ${limit} tokens. However, your messages resulted in ` +
          `${requested} tokens. Please reduce the length of the messages.`,
      });
    },
  },
  {
    id: 'invalid_api_key',
    description:
      "401 with the provider's exact body (OpenAI masks the key it saw; Anthropic `invalid x-api-key`).",
    category: 'http_error',
    providers: ALL,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action(ctx) {
      const p = ctx.info.provider;
      if (p === 'openai') {
        const key = (ctx.info.headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '');
        // OpenAI shows only a prefix and the last four characters; never echo a key in full.
        const masked =
          key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '****';
        return errorAction(ctx, 401, {
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        });
      }
      if (p === 'anthropic')
        return errorAction(ctx, 401, { type: 'authentication_error', message: 'invalid x-api-key' });
      return errorAction(ctx, 401, { type: 'authentication_error', message: 'unauthorized' });
    },
  },
  {
    id: 'content_filter',
    description:
      '200 that was filtered: OpenAI finish_reason content_filter, Anthropic stop_reason refusal; text cut to keepChars.',
    category: 'content',
    providers: CLOUD,
    stream: 'any',
    endpoints: 'generation',
    params: {
      keepChars: {
        type: 'number',
        default: 0,
        min: 0,
        description: 'Characters of text kept before the filter.',
      },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: contentTransform(() =>
        budgetEditor(num(params, 'keepChars'), { openai: 'content_filter', anthropic: 'refusal' }),
      ),
    }),
  },
  {
    id: 'empty_content',
    description: '200 with an empty answer and an ordinary finish reason.',
    category: 'content',
    providers: ALL,
    stream: 'any',
    endpoints: 'generation',
    params: {},
    action: () => ({ kind: 'upstream', transform: contentTransform(() => budgetEditor(0)) }),
  },
  {
    id: 'truncated_answer',
    description: '200 cut at the token limit: finish length (OpenAI, Ollama) / max_tokens (Anthropic).',
    category: 'content',
    providers: ALL,
    stream: 'any',
    endpoints: 'generation',
    params: { maxChars: { type: 'number', default: 20, min: 0, description: 'Characters of text kept.' } },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: contentTransform(() =>
        budgetEditor(num(params, 'maxChars'), {
          openai: 'length',
          anthropic: 'max_tokens',
          ollama: 'length',
        }),
      ),
    }),
  },
  {
    id: 'invalid_json_in_json_mode',
    description:
      'JSON mode was asked but the text is not JSON: the model chatted before it (a prose prefix on the first text).',
    category: 'content',
    providers: ALL,
    stream: 'any',
    endpoints: 'generation',
    requiresJsonMode: true,
    params: {
      prefix: {
        type: 'string',
        default: 'Sure! Here is the JSON you asked for:\n',
        description: 'Prose put before the JSON.',
      },
    },
    action(_ctx, params) {
      return {
        kind: 'upstream',
        transform: contentTransform(() => {
          let done = false;
          return {
            edit(text) {
              if (done || text === '') return text;
              done = true;
              return `${str(params, 'prefix')}${text}`;
            },
          };
        }),
      };
    },
  },
];

export const FAULTS: Readonly<Record<FaultId, FaultDefinition>> = Object.fromEntries(
  definitions.map((definition) => [definition.id, definition]),
) as Record<FaultId, FaultDefinition>;

export function isFaultId(value: unknown): value is FaultId {
  return typeof value === 'string' && (FAULT_IDS as readonly string[]).includes(value);
}

/** Fills defaults and checks types, ranges and choices; throws a plain Error naming the bad parameter. */
export function resolveParams(id: FaultId, given: Record<string, unknown> = {}): FaultParams {
  const definition = FAULTS[id];
  const out: FaultParams = {};
  for (const name of Object.keys(given)) {
    // hasOwn, not `in`: 'toString' or 'constructor' are in every object, through its prototype.
    if (!Object.hasOwn(definition.params, name)) throw new Error(`fault ${id}: unknown parameter '${name}'`);
  }
  const exclusive = (definition.exclusiveParams ?? []).filter((name) => given[name] !== undefined);
  if (exclusive.length > 1)
    throw new Error(`fault ${id}: give one of '${exclusive.join("', '")}', not several`);
  for (const [name, spec] of Object.entries(definition.params)) {
    const value = given[name] ?? spec.default;
    if (typeof value !== spec.type)
      throw new Error(`fault ${id}: parameter '${name}' must be a ${spec.type}`);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`fault ${id}: parameter '${name}' must be finite`);
      if (spec.min !== undefined && value < spec.min)
        throw new Error(`fault ${id}: '${name}' must be >= ${spec.min}`);
      if (spec.max !== undefined && value > spec.max)
        throw new Error(`fault ${id}: '${name}' must be <= ${spec.max}`);
    }
    if (spec.choices && !spec.choices.includes(String(value))) {
      throw new Error(`fault ${id}: '${name}' must be one of ${spec.choices.join(', ')}`);
    }
    out[name] = value as ParamValue;
  }
  return out;
}

/** Whether a fault can hit this request at all (provider, stream or not, endpoint, JSON mode). */
export function faultApplies(definition: FaultDefinition, info: RequestInfo): boolean {
  if (!info.provider || !definition.providers.includes(info.provider)) return false;
  if (definition.endpoints === 'generation' && !info.generation) return false;
  if (definition.stream === 'stream' && !info.stream) return false;
  if (definition.stream === 'non-stream' && info.stream) return false;
  if (definition.requiresJsonMode && info.provider !== 'anthropic' && !info.jsonMode) return false;
  return true;
}
