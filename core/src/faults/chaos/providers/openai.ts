/**
 * OpenAI as the fault catalogue renders it: chat completions and the Responses API (`/v1/responses`,
 * where a cut or filtered answer is status `incomplete` with a reason, not a finish_reason), its error
 * wording and x-ratelimit-* headers, SSE frames ending in `[DONE]` or `response.completed`.
 */

import { isRecord } from '../../simulator/index.ts';
import { jsonError, type ProviderDialect, type TextEdit } from '../dialect.ts';
import { randomId } from '../prng.ts';
import { type FrameOp, sseData, sseFrame } from '../streams.ts';
import type { RequestInfo } from '../wire.ts';

const RESPONSES_PATH = '/v1/responses';
const isResponsesApi = (info: Pick<RequestInfo, 'endpoint'>) => info.endpoint === RESPONSES_PATH;

const SERVER_ERROR_MESSAGE = 'The server had an error while processing your request. Sorry about that!';

/** Formats a duration the way OpenAI's x-ratelimit-reset-* headers do: 174ms, 1.5s, 6m0s. */
export function formatOpenAIDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Number(((ms - minutes * 60_000) / 1000).toFixed(3))}s`;
}

const JSON_FORMATS = new Set(['json_object', 'json_schema']);

export const openai: ProviderDialect = {
  provider: 'openai',
  framing: 'sse',
  requestId: (random) => `req_${randomId(random, 32, '0123456789abcdef')}`,
  // Chat's response_format, or the Responses API's text.format.
  asksForJson: (body) =>
    JSON_FORMATS.has(
      (isRecord(body.response_format)
        ? body.response_format.type
        : isRecord(body.text) && isRecord(body.text.format)
          ? body.text.format.type
          : undefined) as string,
    ),
  errors: {
    rate_limit({ model, retryAfterMs: ms, limitType, retryAfterMsHeader }) {
      const headers: Record<string, string> = {};
      if (retryAfterMsHeader) headers['retry-after-ms'] = String(ms);
      const limits = { requests: 500, tokens: 30000 };
      for (const kind of ['requests', 'tokens'] as const) {
        const hit = kind === limitType;
        headers[`x-ratelimit-limit-${kind}`] = String(limits[kind]);
        headers[`x-ratelimit-remaining-${kind}`] = hit ? '0' : String(limits[kind] - 1);
        headers[`x-ratelimit-reset-${kind}`] = formatOpenAIDuration(hit ? ms : 120);
      }
      const what = limitType === 'tokens' ? 'tokens per min (TPM)' : 'requests per min (RPM)';
      const limit = limits[limitType];
      return jsonError(429, {
        type: limitType,
        code: 'rate_limit_exceeded',
        message:
          `Rate limit reached for ${model ?? 'the model'} in organization org-switchyardsim on ${what}: Limit ${limit}, ` +
          `Used ${limit}, Requested 1. Please try again in ${formatOpenAIDuration(ms)}. ` +
          'Visit https://platform.openai.com/account/rate-limits to learn more.',
        headers,
      });
    },
    quota_exhausted: () =>
      jsonError(429, {
        type: 'insufficient_quota',
        code: 'insufficient_quota',
        message:
          'You exceeded your current quota, please check your plan and billing details. For more information on ' +
          'this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      }),
    server_error: () =>
      jsonError(500, {
        type: 'server_error',
        message:
          `${SERVER_ERROR_MESSAGE} You can retry your request, ` +
          'or contact us through our help center at help.openai.com if the error persists.',
      }),
    service_unavailable: () =>
      jsonError(503, { type: 'server_error', message: 'The server is overloaded or not ready yet.' }),
    gateway_timeout: () => ({ status: 504, page: 'Gateway Time-out' }),
    overloaded: () => jsonError(503, { type: 'server_error', message: 'Slow Down' }),
    unsupported_parameter(rejected) {
      const param = rejected || 'max_tokens';
      const message =
        param === 'max_tokens'
          ? "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
          : `Unsupported parameter: '${param}' is not supported with this model.`;
      return jsonError(400, { type: 'invalid_request_error', param, code: 'unsupported_parameter', message });
    },
    context_length_exceeded: (limit, requested) =>
      jsonError(400, {
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
        message:
          `This model's maximum context length is ${limit} tokens. However, your messages resulted in ` +
          `${requested} tokens. Please reduce the length of the messages.`,
      }),
    invalid_api_key(headers) {
      const key = (headers.get('authorization') ?? '').replace(/^Bearer\s+/i, '');
      // OpenAI shows only a prefix and the last four characters; never echo a key in full.
      const masked =
        key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '****';
      return jsonError(401, {
        type: 'invalid_request_error',
        code: 'invalid_api_key',
        message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      });
    },
  },
  finishes: { length: 'length', content_filter: 'content_filter' },
  streamError({ message }, index, info) {
    const text = message || SERVER_ERROR_MESSAGE;
    // The Responses API's error event is numbered as the event it takes the place of.
    if (isResponsesApi(info))
      return sseFrame(
        { type: 'error', code: 'server_error', message: text, param: null, sequence_number: index },
        'error',
      );
    return sseFrame({ error: { message: text, type: 'server_error', param: null, code: null } });
  },
  isTerminalFrame: (frame) =>
    /^data: ?\[DONE\]/m.test(frame) || /^event: ?response\.(completed|incomplete|failed)\b/m.test(frame),
  editAnswer(json, edit, finish) {
    if (!isRecord(json)) return;
    if (json.object === 'response') {
      for (const part of textParts(json)) if (typeof part.text === 'string') part.text = edit(part.text);
      markIncomplete(json, finish);
      return;
    }
    if (!Array.isArray(json.choices)) return;
    for (const choice of json.choices) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice.message) && typeof choice.message.content === 'string')
        choice.message.content = edit(choice.message.content);
      if (finish) choice.finish_reason = finish;
    }
  },
  frameEditor(edit, finish, info) {
    if (isResponsesApi(info)) return responsesFrameEditor(edit, finish);
    return (frame) => {
      const parsed = sseData(frame);
      if (!parsed || !isRecord(parsed.data) || !Array.isArray(parsed.data.choices)) return undefined;
      let dropped = false;
      for (const choice of parsed.data.choices) {
        if (!isRecord(choice)) continue;
        const delta = choice.delta;
        if (isRecord(delta) && typeof delta.content === 'string' && delta.content !== '') {
          delta.content = edit(delta.content);
          dropped = delta.content === '' && choice.finish_reason == null && delta.role === undefined;
        }
        if (finish && choice.finish_reason != null) choice.finish_reason = finish;
      }
      return { emit: dropped ? [] : [sseFrame(parsed.data)] };
    };
  },
};

// ---------------------------------------------------------------------------------------------
// The Responses API

/** The Responses API's incomplete reason for a chat finish_reason a fault reports. */
const INCOMPLETE_REASON: Record<string, string> = {
  length: 'max_output_tokens',
  content_filter: 'content_filter',
};

/** Marks a Response object incomplete for the chat-style finish a fault reports (when it is one). */
function markIncomplete(response: Record<string, unknown>, finish: string | undefined): boolean {
  const reason = finish ? INCOMPLETE_REASON[finish] : undefined;
  if (!reason) return false;
  response.status = 'incomplete';
  response.completed_at = null;
  response.incomplete_details = { reason };
  return true;
}

/** Every output_text part of a Response's message items. */
function textParts(response: Record<string, unknown>): Array<Record<string, unknown>> {
  const output = Array.isArray(response.output) ? response.output : [];
  return output
    .filter((item): item is Record<string, unknown> => isRecord(item) && item.type === 'message')
    .flatMap((item) => (Array.isArray(item.content) ? item.content : []))
    .filter((part): part is Record<string, unknown> => isRecord(part) && part.type === 'output_text');
}

/**
 * A frame editor for one Responses stream: deltas go through `edit`; the `.done` events and the
 * final response repeat the whole text, so they get the edited text accumulated so far; the final
 * event becomes `response.incomplete` when the fault reports a cut or filtered answer.
 */
function responsesFrameEditor(
  edit: TextEdit,
  finish: string | undefined,
): (frame: string) => FrameOp | undefined {
  let text = '';
  // Dropped deltas leave no gap: the events that remain are numbered again from 0.
  let sequence = 0;
  const emit = (data: Record<string, unknown>, event: string | undefined): FrameOp => ({
    emit: [sseFrame({ ...data, sequence_number: sequence++ }, event)],
  });
  return (frame) => {
    const parsed = sseData(frame);
    if (!parsed || !isRecord(parsed.data)) return undefined;
    const data = parsed.data;
    switch (data.type) {
      case 'response.output_text.delta': {
        const delta = typeof data.delta === 'string' ? edit(data.delta) : '';
        if (delta === '') return { emit: [] };
        text += delta;
        return emit({ ...data, delta }, parsed.event);
      }
      case 'response.output_text.done':
        return emit({ ...data, text }, parsed.event);
      case 'response.content_part.done':
        if (isRecord(data.part)) data.part.text = text;
        return emit(data, parsed.event);
      case 'response.output_item.done':
        if (isRecord(data.item)) for (const part of textParts({ output: [data.item] })) part.text = text;
        return emit(data, parsed.event);
      case 'response.completed': {
        if (!isRecord(data.response)) return emit(data, parsed.event);
        for (const part of textParts(data.response)) part.text = text;
        const type = markIncomplete(data.response, finish) ? 'response.incomplete' : 'response.completed';
        return emit({ ...data, type }, type);
      }
      default:
        return emit(data, parsed.event);
    }
  };
}
