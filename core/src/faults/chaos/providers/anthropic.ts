/**
 * Anthropic as the fault catalogue renders it: its error types (overloaded_error on 529, billing_error
 * on 402, timeout_error on 504), anthropic-ratelimit-* headers with RFC 3339 resets, named SSE events
 * ending in message_stop, `event: error` inside a stream, and JSON by instruction (no JSON-mode flag).
 */

import { isRecord } from '../../simulator/index.ts';
import { jsonError, type ProviderDialect } from '../dialect.ts';
import { randomId } from '../prng.ts';
import { sseData, sseFrame } from '../streams.ts';

/** RFC 3339 timestamp (second precision) as in anthropic-ratelimit-*-reset. */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export const anthropic: ProviderDialect = {
  provider: 'anthropic',
  framing: 'sse',
  requestId: (random) => `req_011C${randomId(random, 20)}`,
  jsonByInstruction: true,
  asksForJson: (body) =>
    body.output_format != null || (isRecord(body.output_config) && body.output_config.format != null),
  errors: {
    rate_limit({ retryAfterMs: ms, limitType, now }) {
      const headers: Record<string, string> = {};
      const reset = rfc3339(now + ms);
      for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
        const hit = kind === limitType || (limitType === 'tokens' && kind === 'input-tokens');
        headers[`anthropic-ratelimit-${kind}-limit`] = kind === 'requests' ? '50' : '40000';
        headers[`anthropic-ratelimit-${kind}-remaining`] = hit ? '0' : kind === 'requests' ? '49' : '39000';
        headers[`anthropic-ratelimit-${kind}-reset`] = hit ? reset : rfc3339(now + 1000);
      }
      const what = limitType === 'tokens' ? 'Number of request tokens' : 'Number of requests';
      return jsonError(429, {
        type: 'rate_limit_error',
        message:
          `${what} has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); ` +
          'see the response headers for current usage. Please reduce the prompt length or the maximum tokens ' +
          'requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales ' +
          'to discuss your options for a rate limit increase.',
        headers,
      });
    },
    quota_exhausted: () =>
      jsonError(402, {
        type: 'billing_error',
        message:
          'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      }),
    server_error: () => jsonError(500, { type: 'api_error', message: 'Internal server error' }),
    service_unavailable: () => jsonError(503, { type: 'api_error', message: 'Service unavailable' }),
    gateway_timeout: () => jsonError(504, { type: 'timeout_error', message: 'Request timed out' }),
    overloaded: () => jsonError(529, { type: 'overloaded_error', message: 'Overloaded' }),
    unsupported_parameter: (param) =>
      jsonError(400, {
        type: 'invalid_request_error',
        message: `${param || 'max_completion_tokens'}: Extra inputs are not permitted`,
      }),
    context_length_exceeded: (limit, requested) =>
      jsonError(400, {
        type: 'invalid_request_error',
        message: `prompt is too long: ${requested} tokens > ${limit} maximum`,
      }),
    invalid_api_key: () => jsonError(401, { type: 'authentication_error', message: 'invalid x-api-key' }),
  },
  finishes: { length: 'max_tokens', content_filter: 'refusal' },
  streamError: ({ errorType, message }) =>
    sseFrame(
      {
        type: 'error',
        error: {
          type: errorType,
          message: message || (errorType === 'overloaded_error' ? 'Overloaded' : 'Internal server error'),
        },
      },
      'error',
    ),
  isTerminalFrame: (frame) => /^event: ?message_stop/m.test(frame),
  editAnswer(json, edit, finish) {
    if (!isRecord(json) || !Array.isArray(json.content)) return;
    for (const block of json.content)
      if (isRecord(block) && block.type === 'text' && typeof block.text === 'string')
        block.text = edit(block.text);
    if (finish) json.stop_reason = finish;
  },
  frameEditor: (edit, finish) => (frame) => {
    const parsed = sseData(frame);
    if (!parsed || !isRecord(parsed.data)) return undefined;
    const data = parsed.data;
    const delta = data.delta;
    if (data.type === 'content_block_delta' && isRecord(delta) && delta.type === 'text_delta') {
      if (typeof delta.text === 'string' && delta.text !== '') delta.text = edit(delta.text);
      if (delta.text === '') return { emit: [] };
      return { emit: [sseFrame(data, parsed.event)] };
    }
    if (data.type === 'message_delta' && isRecord(delta) && finish) {
      delta.stop_reason = finish;
      return { emit: [sseFrame(data, parsed.event)] };
    }
    return undefined;
  },
};
