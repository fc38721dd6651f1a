import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_IDS, FAULTS, resolveParams } from '../../../src/faults/chaos/catalogue.ts';
import { transportFaultOf } from '../../../src/faults/chaos/engine.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import {
  anthropicReq,
  chaosOverSimulator,
  KEY,
  ndjson,
  ollamaReq,
  openaiReq,
  openaiStreamText,
  post,
  sseData,
  sseFrames,
} from './helpers.ts';

const clockStart = Date.UTC(2026, 0, 1);

async function inject(fault: (typeof FAULT_IDS)[number], request: Request, params?: Record<string, never>) {
  const chaos = chaosOverSimulator([{ fault, ...(params ? { params } : {}) }]);
  const response = await chaos.handle(request);
  return { response, chaos };
}

describe('catalogue definitions', () => {
  it('documents every fault with providers, applicability and parameter defaults', () => {
    for (const id of FAULT_IDS) {
      const definition = FAULTS[id];
      expect(definition.id).toBe(id);
      expect(definition.description.length).toBeGreaterThan(20);
      expect(definition.providers.length).toBeGreaterThan(0);
      for (const spec of Object.values(definition.params)) expect(typeof spec.default).toBe(spec.type);
    }
  });

  it('names no provider outside the dialect files: adding a provider is one file in providers/', () => {
    const chaos = join(import.meta.dirname, '../../../src/faults/chaos');
    const neutral = [
      ...readdirSync(join(chaos, 'definitions')).map((f) => join('definitions', f)),
      ...readdirSync(chaos).filter((f) => f.endsWith('.ts') && f !== 'index.ts'),
    ];
    const named = neutral.flatMap((file) =>
      [...readFileSync(join(chaos, file), 'utf8').matchAll(/['"`](openai|anthropic|ollama)['"`]/g)].map(
        (m) => `${file}: ${m[0]}`,
      ),
    );
    expect(neutral).toEqual(expect.arrayContaining(['catalogue.ts', 'engine.ts', 'plan.ts', 'wire.ts']));
    expect(named).toEqual([]);
  });

  it('rejects unknown, mistyped and out-of-range parameters', () => {
    expect(resolveParams('rate_limit')).toMatchObject({ retryAfterMs: 1000, limitType: 'requests' });
    expect(() => resolveParams('rate_limit', { retryAfterMS: 5 })).toThrow(
      /unknown parameter 'retryAfterMS'/,
    );
    expect(() => resolveParams('rate_limit', { retryAfterMs: '5' })).toThrow(/must be a number/);
    expect(() => resolveParams('rate_limit', { limitType: 'bytes' })).toThrow(/one of requests, tokens/);
    expect(() => resolveParams('malformed_json', { keepFraction: 2 })).toThrow(/<= 1/);
  });
});

describe('HTTP error faults carry each provider’s exact body and headers', () => {
  it('rate_limit, OpenAI: 429 with retry-after, retry-after-ms and x-ratelimit-* headers', async () => {
    const chaos = chaosOverSimulator([{ fault: 'rate_limit', params: { retryAfterMs: 1500 } }]);
    const response = await chaos.handle(openaiReq());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('retry-after-ms')).toBe('1500');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(response.headers.get('x-ratelimit-reset-requests')).toBe('1.5s');
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    const body = await response.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error)).toEqual(['message', 'type', 'param', 'code']);
    expect(body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
    expect(body.error.message).toContain('Rate limit reached for gpt-4o-mini');
    expect(body.error.message).toContain('Please try again in 1.5s.');
  });

  it('rate_limit, OpenAI tokens: the tokens headers say when to come back', async () => {
    const chaos = chaosOverSimulator([
      { fault: 'rate_limit', params: { limitType: 'tokens', retryAfterMs: 174 } },
    ]);
    const response = await chaos.handle(openaiReq());
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(response.headers.get('x-ratelimit-reset-tokens')).toBe('174ms');
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await response.json()).error.type).toBe('tokens');
  });

  it('rate_limit, Anthropic: 429 rate_limit_error, request id in header and body, RFC 3339 resets', async () => {
    const chaos = chaosOverSimulator([{ fault: 'rate_limit', params: { retryAfterMs: 30_000 } }]);
    const response = await chaos.handle(anthropicReq());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.headers.get('retry-after-ms')).toBeNull();
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(response.headers.get('anthropic-ratelimit-requests-reset')).toBe(
      `${new Date(clockStart + 30_000).toISOString().slice(0, 19)}Z`,
    );
    const body = await response.json();
    expect(Object.keys(body)).toEqual(['type', 'error', 'request_id']);
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('rate_limit_error');
    expect(body.request_id).toMatch(/^req_011C[0-9A-Za-z]{20}$/);
    expect(response.headers.get('request-id')).toBe(body.request_id);
  });

  it('rate_limit, Ollama: 429 with {"error": string}', async () => {
    const { response } = await inject('rate_limit', ollamaReq());
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  it('quota_exhausted: OpenAI 429 insufficient_quota, Anthropic 402 billing_error, Ollama untouched', async () => {
    const openai = (await inject('quota_exhausted', openaiReq())).response;
    expect(openai.status).toBe(429);
    expect((await openai.json()).error).toMatchObject({
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    });
    const anthropic = (await inject('quota_exhausted', anthropicReq())).response;
    expect(anthropic.status).toBe(402);
    expect((await anthropic.json()).error.type).toBe('billing_error');
    const { response, chaos } = await inject('quota_exhausted', ollamaReq({ stream: false }));
    expect(response.status).toBe(200);
    expect(chaos.counters().injected.total).toBe(0);
  });

  it.each([
    ['server_error', 500, 'server_error', 'api_error'],
    ['service_unavailable', 503, 'server_error', 'api_error'],
  ] as const)('%s: %i with the provider error type', async (fault, status, openaiType, anthropicType) => {
    const openai = (await inject(fault, openaiReq())).response;
    expect(openai.status).toBe(status);
    expect((await openai.json()).error.type).toBe(openaiType);
    const anthropic = (await inject(fault, anthropicReq())).response;
    expect(anthropic.status).toBe(status);
    expect((await anthropic.json()).error.type).toBe(anthropicType);
    const ollama = (await inject(fault, ollamaReq())).response;
    expect(ollama.status).toBe(status);
    expect(typeof (await ollama.json()).error).toBe('string');
  });

  it('bad_gateway: 502 with an HTML page for every provider', async () => {
    for (const request of [openaiReq(), anthropicReq(), ollamaReq()]) {
      const { response } = await inject('bad_gateway', request);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toBe('text/html');
      expect(await response.text()).toContain('<title>502 Bad Gateway</title>');
    }
  });

  it('gateway_timeout: Anthropic timeout_error JSON, OpenAI an HTML gateway page', async () => {
    const anthropic = (await inject('gateway_timeout', anthropicReq())).response;
    expect(anthropic.status).toBe(504);
    expect((await anthropic.json()).error.type).toBe('timeout_error');
    const openai = (await inject('gateway_timeout', openaiReq())).response;
    expect(openai.status).toBe(504);
    expect(await openai.text()).toContain('504 Gateway Time-out');
  });

  it('overloaded: Anthropic 529 overloaded_error, OpenAI 503 Slow Down, Ollama 503 server busy', async () => {
    const anthropic = (await inject('overloaded', anthropicReq())).response;
    expect(anthropic.status).toBe(529);
    expect((await anthropic.json()).error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    const openai = (await inject('overloaded', openaiReq())).response;
    expect(openai.status).toBe(503);
    expect((await openai.json()).error.message).toBe('Slow Down');
    const ollama = (await inject('overloaded', ollamaReq())).response;
    expect(ollama.status).toBe(503);
    expect((await ollama.json()).error).toMatch(/^server busy/);
  });

  it("unsupported_parameter: OpenAI's body verbatim", async () => {
    const { response } = await inject('unsupported_parameter', openaiReq({ max_tokens: 10 }));
    expect(response.status).toBe(400);
    expect(await response.text()).toBe(
      `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`,
    );
  });

  it('unsupported_parameter: Anthropic and Ollama wording', async () => {
    const anthropic = await (await inject('unsupported_parameter', anthropicReq())).response.json();
    expect(anthropic.error).toEqual({
      type: 'invalid_request_error',
      message: 'max_completion_tokens: Extra inputs are not permitted',
    });
    const ollama = await (await inject('unsupported_parameter', ollamaReq())).response.json();
    expect(ollama.error).toBe('registry.ollama.ai/library/llama3.2 does not support tools');
  });

  it('context_length_exceeded: OpenAI code and param, Anthropic "prompt is too long"', async () => {
    const openai = await (await inject('context_length_exceeded', openaiReq())).response.json();
    expect(openai.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(openai.error.message).toMatch(/^This model's maximum context length is 128000 tokens/);
    const anthropic = await (await inject('context_length_exceeded', anthropicReq())).response.json();
    expect(anthropic.error.message).toBe('prompt is too long: 130046 tokens > 128000 maximum');
  });

  it('invalid_api_key: 401 bodies; OpenAI masks the key and never echoes it whole', async () => {
    const openai = (await inject('invalid_api_key', openaiReq())).response;
    expect(openai.status).toBe(401);
    const body = await openai.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
    expect(body.error.message).toMatch(/^Incorrect API key provided: sk-\*+-key\./);
    expect(body.error.message).not.toContain(KEY);
    const anthropic = (await inject('invalid_api_key', anthropicReq())).response;
    expect(anthropic.status).toBe(401);
    expect((await anthropic.json()).error).toEqual({
      type: 'authentication_error',
      message: 'invalid x-api-key',
    });
  });

  it('error faults also hit non-generation endpoints (GET /v1/models, /api/tags)', async () => {
    const chaos = chaosOverSimulator([{ fault: 'server_error' }]);
    expect((await chaos.handle(new Request('http://sim.test/v1/models'))).status).toBe(500);
    expect((await chaos.handle(new Request('http://sim.test/api/tags'))).status).toBe(500);
  });
});

describe('transport faults in fetch-land', () => {
  it('connection_reset / connection_refused / half_close are Response.error() marked for the proxy', async () => {
    for (const fault of ['connection_reset', 'connection_refused', 'half_close'] as const) {
      const { response } = await inject(fault, openaiReq());
      expect(response.type).toBe('error');
      expect(transportFaultOf(response)).toBe(fault);
    }
  });

  it('no_response never settles until the request aborts', async () => {
    const controller = new AbortController();
    const chaos = chaosOverSimulator([{ fault: 'no_response' }]);
    let settled = false;
    const pending = chaos.handle(openaiReq({}, controller.signal)).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    controller.abort(new Error('client timeout'));
    await expect(pending).rejects.toThrow('client timeout');
  });
});

describe('latency faults run on the clock', () => {
  it('slow_first_token (stream): headers at once, first chunk only after the delay', async () => {
    const clock = new VirtualClock();
    const chaos = chaosOverSimulator([{ fault: 'slow_first_token', params: { delayMs: 3000 } }], 7, clock);
    const response = await chaos.handle(openaiReq({ stream: true }));
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let first: Uint8Array | undefined;
    const read = reader.read().then((r) => {
      first = r.value;
    });
    await clock.advance(2999);
    expect(first).toBeUndefined();
    await clock.advance(1);
    await read;
    expect(new TextDecoder().decode(first)).toMatch(/^data: /);
    await reader.cancel();
  });

  it('slow_first_token (non-stream) and latency delay the response itself', async () => {
    for (const fault of ['slow_first_token', 'latency'] as const) {
      const clock = new VirtualClock();
      const chaos = chaosOverSimulator([{ fault, params: { delayMs: 1000 } }], 7, clock);
      let response: Response | undefined;
      const pending = chaos.handle(openaiReq()).then((r) => {
        response = r;
      });
      await clock.advance(999);
      expect(response).toBeUndefined();
      await clock.advance(1);
      await pending;
      expect(response!.status).toBe(200);
    }
  });

  it('stall_after_headers (stream): N chunks then silence; an abort releases it and leaves no timer', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const chaos = chaosOverSimulator(
      [{ fault: 'stall_after_headers', params: { afterChunks: 2 } }],
      7,
      clock,
    );
    const response = await chaos.handle(anthropicReq({ stream: true }, controller.signal));
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (sseFrames(text).length < 2) text += decoder.decode((await reader.read()).value);
    const stalled = reader.read();
    await clock.advance(60_000);
    controller.abort(new Error('idle timeout'));
    await expect(stalled).rejects.toThrow('idle timeout');
    expect(sseFrames(text).map((f) => f.split('\n')[0])).toEqual([
      'event: message_start',
      'event: content_block_start',
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stall_after_headers (non-stream): status 200 arrives, the body never does', async () => {
    const controller = new AbortController();
    const chaos = chaosOverSimulator([{ fault: 'stall_after_headers' }]);
    const response = await chaos.handle(openaiReq({}, controller.signal));
    expect(response.status).toBe(200);
    const body = response.text();
    controller.abort(new Error('body timeout'));
    await expect(body).rejects.toThrow();
  });

  it('byte_by_byte delivers one byte per read; slow_close holds the end back', async () => {
    const clock = new VirtualClock();
    const chaos = chaosOverSimulator([{ fault: 'byte_by_byte', params: { delayMs: 0 } }], 7, clock);
    const reader = (await chaos.handle(openaiReq())).body!.getReader();
    for (let i = 0; i < 5; i++) expect((await reader.read()).value!.byteLength).toBe(1);
    await reader.cancel();

    const slow = chaosOverSimulator([{ fault: 'slow_close', params: { delayMs: 500 } }], 7, clock);
    let done = false;
    const text = (await slow.handle(openaiReq())).text().then((t) => {
      done = true;
      return t;
    });
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(JSON.parse(await text).object).toBe('chat.completion');
  });
});

describe('stream faults', () => {
  it('stream_cut: N chunks and no terminator, per provider', async () => {
    const openai = await (await inject('stream_cut', openaiReq({ stream: true }))).response.text();
    expect(sseFrames(openai)).toHaveLength(3);
    expect(openai).not.toContain('[DONE]');
    const anthropic = await (await inject('stream_cut', anthropicReq({ stream: true }))).response.text();
    expect(sseFrames(anthropic)).toHaveLength(3);
    expect(anthropic).not.toContain('message_stop');
    const ollama = await (await inject('stream_cut', ollamaReq())).response.text();
    expect(ndjson(ollama)).toHaveLength(3);
    expect(ndjson(ollama).some((line) => (line as { done: boolean }).done)).toBe(false);
  });

  it('stream_cut never lets the terminator through even when N exceeds the stream', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_cut', params: { afterChunks: 10_000 } }]);
    const text = await (await chaos.handle(openaiReq({ stream: true }))).text();
    expect(openaiStreamText(text).length).toBeGreaterThan(0);
    expect(text).not.toContain('[DONE]');
  });

  it('stream_cut abrupt errors the body instead of ending it', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_cut', params: { abrupt: true } }]);
    await expect((await chaos.handle(openaiReq({ stream: true }))).text()).rejects.toThrow(/cut abruptly/);
  });

  it('stream_error_event: the provider-specific error inside a 200 stream', async () => {
    const openai = (await inject('stream_error_event', openaiReq({ stream: true }))).response;
    expect(openai.status).toBe(200);
    const data = sseData(await openai.text());
    expect(data).toHaveLength(3);
    expect(data.at(-1)).toEqual({
      error: {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      },
    });
    const anthropic = await (
      await inject('stream_error_event', anthropicReq({ stream: true }))
    ).response.text();
    expect(sseFrames(anthropic).at(-1)).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    );
    const ollama = ndjson(await (await inject('stream_error_event', ollamaReq())).response.text());
    expect(ollama.at(-1)).toEqual({ error: expect.stringContaining('error') });
  });

  it('malformed_sse garbles one event and keeps the rest of the stream', async () => {
    const text = await (await inject('malformed_sse', openaiReq({ stream: true }))).response.text();
    const frames = sseFrames(text);
    expect(() => JSON.parse(frames[1]!.slice(6))).toThrow();
    expect(() => JSON.parse(frames[2]!.slice(6))).not.toThrow();
    expect(frames.at(-1)).toBe('data: [DONE]');
  });

  it('malformed_ndjson garbles one line; malformed_json truncates a JSON body', async () => {
    const lines = (await (await inject('malformed_ndjson', ollamaReq())).response.text()).split('\n');
    expect(() => JSON.parse(lines[1]!)).toThrow();
    expect(JSON.parse(lines[2]!).done).toBe(false);
    const body = await (await inject('malformed_json', openaiReq())).response.text();
    expect(body.startsWith('{"id":"chatcmpl-')).toBe(true);
    expect(() => JSON.parse(body)).toThrow();
  });
});

describe('content faults (200 responses that are wrong)', () => {
  it('content_filter: OpenAI finish_reason content_filter; Anthropic stop_reason refusal (stream)', async () => {
    const openai = await (await inject('content_filter', openaiReq())).response.json();
    expect(openai.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
    const anthropic = sseData(
      await (await inject('content_filter', anthropicReq({ stream: true }))).response.text(),
    );
    const delta = anthropic.find((d) => (d as { type: string }).type === 'message_delta') as {
      delta: { stop_reason: string };
    };
    expect(delta.delta.stop_reason).toBe('refusal');
    expect(anthropic.some((d) => (d as { type: string }).type === 'content_block_delta')).toBe(false);
  });

  it('empty_content: empty text with an ordinary finish', async () => {
    const stream = await (await inject('empty_content', openaiReq({ stream: true }))).response.text();
    expect(openaiStreamText(stream)).toBe('');
    expect(stream).toContain('"finish_reason":"stop"');
    const ollama = await (await inject('empty_content', ollamaReq({ stream: false }))).response.json();
    expect(ollama.message.content).toBe('');
    expect(ollama.done_reason).toBe('stop');
  });

  it('truncated_answer: text cut to maxChars and a length finish, streamed or not', async () => {
    const chaos = chaosOverSimulator([{ fault: 'truncated_answer', params: { maxChars: 12 } }]);
    const openai = await (await chaos.handle(openaiReq())).json();
    expect(openai.choices[0].message.content).toHaveLength(12);
    expect(openai.choices[0].finish_reason).toBe('length');
    const stream = await (await chaos.handle(openaiReq({ stream: true }))).text();
    expect(openaiStreamText(stream)).toHaveLength(12);
    const anthropic = await (await chaos.handle(anthropicReq())).json();
    expect(anthropic.stop_reason).toBe('max_tokens');
    expect(anthropic.content[0].text).toHaveLength(12);
    const ollama = ndjson(await (await chaos.handle(ollamaReq())).text()) as Array<Record<string, unknown>>;
    expect(ollama.at(-1)).toMatchObject({ done: true, done_reason: 'length' });
  });

  it('invalid_json_in_json_mode: only when JSON mode was asked, and the text no longer parses', async () => {
    const jsonMode = { response_format: { type: 'json_object' } };
    const chaos = chaosOverSimulator([{ fault: 'invalid_json_in_json_mode' }]);
    const plain = await (await chaos.handle(openaiReq())).json();
    expect(plain.choices[0].message.content.startsWith('Sure!')).toBe(false);
    const asked = await (await chaos.handle(openaiReq(jsonMode))).json();
    const text: string = asked.choices[0].message.content;
    expect(text.startsWith('Sure! Here is the JSON you asked for:\n')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(() => JSON.parse(text.slice('Sure! Here is the JSON you asked for:\n'.length))).not.toThrow();
    expect(chaos.counters().injected.total).toBe(1);
  });
});

describe('faults skip requests they cannot apply to', () => {
  it('stream-only faults leave non-stream calls alone and are not counted', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_cut' }]);
    expect((await (await chaos.handle(openaiReq())).json()).object).toBe('chat.completion');
    expect(chaos.counters()).toMatchObject({
      requests: { total: 1 },
      injected: { total: 0 },
      passedThrough: 1,
    });
  });

  it('requests to paths no provider serves pass through untouched', async () => {
    const chaos = chaosOverSimulator([{ fault: 'server_error' }]);
    const response = await chaos.handle(post('/not-a-provider', {}));
    expect(response.status).toBe(404);
  });
});
