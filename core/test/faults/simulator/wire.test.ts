import { describe, expect, it } from 'vitest';
import {
  encodeNdjson,
  encodeSse,
  errorResponse,
  providerOfPath,
  SSE_DONE,
} from '../../../src/faults/simulator/index.ts';

describe('wire helpers for fault injection', () => {
  it('errorResponse builds each provider’s exact body and request-id header', async () => {
    const openai = errorResponse('openai', 429, {
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: 'Rate limit reached',
      headers: { 'retry-after-ms': '174' },
      requestId: 'req_abc',
    });
    expect(openai.status).toBe(429);
    expect(openai.headers.get('x-request-id')).toBe('req_abc');
    expect(openai.headers.get('retry-after-ms')).toBe('174');
    expect(await openai.json()).toEqual({
      error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });

    const anthropic = errorResponse('anthropic', 529, { type: 'overloaded_error', message: 'Overloaded' });
    const body = (await anthropic.json()) as { request_id: string };
    expect(body).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
      request_id: anthropic.headers.get('request-id'),
    });
    expect(body.request_id).toMatch(/^req_011C/);

    const ollama = errorResponse('ollama', 500, {
      type: 'ignored',
      message: 'llama runner process has terminated',
    });
    expect(ollama.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await ollama.json()).toEqual({ error: 'llama runner process has terminated' });
  });

  it('encodes SSE frames (named and unnamed) and NDJSON lines', () => {
    expect(encodeSse({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(encodeSse({ type: 'ping' }, 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
    expect(encodeNdjson({ done: true })).toBe('{"done":true}\n');
  });

  it('providerOfPath maps SDK paths to providers', () => {
    expect(providerOfPath('/v1/chat/completions')).toBe('openai');
    expect(providerOfPath('/v1/models')).toBe('openai');
    expect(providerOfPath('/v1/messages')).toBe('anthropic');
    expect(providerOfPath('/v1/messages/count_tokens')).toBe('anthropic');
    expect(providerOfPath('/api/chat')).toBe('ollama');
    expect(providerOfPath('/healthz')).toBeUndefined();
  });
});
