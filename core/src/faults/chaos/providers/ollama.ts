/**
 * Ollama as the fault catalogue renders it: a bare `{"error": "…"}` body (no error types), "server
 * busy" 503s from its full queue, NDJSON lines ending in `done: true` with a done_reason, an error line
 * inside a stream; no quota, no context-length error (it truncates) and no content filter.
 */

import { isRecord } from '../../simulator/index.ts';
import { jsonError, type ProviderDialect } from '../dialect.ts';
import { randomId } from '../prng.ts';

const BUSY = 'server busy, please try again.  maximum pending requests exceeded';

export const ollama: ProviderDialect = {
  provider: 'ollama',
  framing: 'ndjson',
  streamsByDefault: true,
  asksForJson: (body) => body.format !== undefined && body.format !== '',
  // Ollama sends no request id; an error it is made to give carries one in OpenAI's form.
  requestId: (random) => `req_${randomId(random, 32, '0123456789abcdef')}`,
  errors: {
    rate_limit: () => jsonError(429, { type: 'rate_limit', message: 'too many requests' }),
    server_error: () =>
      jsonError(500, { type: 'api_error', message: 'llama runner process has terminated: exit status 2' }),
    service_unavailable: () => jsonError(503, { type: 'busy', message: BUSY }),
    gateway_timeout: () => ({ status: 504, page: 'Gateway Time-out' }),
    overloaded: () => jsonError(503, { type: 'busy', message: BUSY }),
    unsupported_parameter: (param, model) =>
      jsonError(400, {
        type: 'invalid_request_error',
        message: `registry.ollama.ai/library/${model ?? 'model'} does not support ${param || 'tools'}`,
      }),
    invalid_api_key: () => jsonError(401, { type: 'authentication_error', message: 'unauthorized' }),
  },
  finishes: { length: 'length' },
  streamError: ({ message }) =>
    `${JSON.stringify({ error: message || 'an error was encountered while running the model: unexpected EOF' })}\n`,
  isTerminalFrame(frame) {
    try {
      const line = JSON.parse(frame);
      return isRecord(line) && line.done === true;
    } catch {
      return false;
    }
  },
  editAnswer(json, edit, finish) {
    if (!isRecord(json)) return;
    if (isRecord(json.message) && typeof json.message.content === 'string')
      json.message.content = edit(json.message.content);
    if (typeof json.response === 'string') json.response = edit(json.response);
    if (finish && json.done === true) json.done_reason = finish;
  },
  frameEditor: (edit, finish) => (frame) => {
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
        holder[key] = edit(holder[key] as string);
        dropped = holder[key] === '' && line.done !== true;
      }
    }
    if (dropped) return { emit: [] };
    if (finish && line.done === true) line.done_reason = finish;
    return { emit: [`${JSON.stringify(line)}\n`] };
  },
};
