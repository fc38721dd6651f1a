import { HttpResponse, http, type JsonBodyType } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/runtime/errors.ts';
import { JSON_MODE_INSTRUCTION } from '../../src/runtime/providers/anthropic.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import {
  ANTHROPIC_BASE,
  attemptContext,
  collect,
  deployment,
  expectRouterAbort,
  FAKE_KEY,
  namedSse,
  recordPost,
  rejection,
  server,
  sseResponse,
  streamedResponse,
} from './helpers.ts';

const URL = `${ANTHROPIC_BASE}/v1/messages`;

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

// Not claude-sonnet-4-5: SDK 1.12 console.warns on every call for models on its deprecation list.
function adapter(extra: Record<string, unknown> = {}) {
  return createAdapter(
    deployment({ provider: 'anthropic', model: 'claude-sonnet-4-6', baseURL: ANTHROPIC_BASE, ...extra }),
    { apiKey: FAKE_KEY },
  );
}

function message(overrides: Record<string, unknown> = {}) {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-6-20250929',
    content: [{ type: 'text', text: 'Hello!' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    ...overrides,
  };
}

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };

describe('anthropic adapter: request body', () => {
  it('puts system on top, maps tools, tool calls and results, stop sequences and JSON mode', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(message()));
    await adapter().complete(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'system', content: 'Use metric units.' },
          { role: 'user', content: 'Weather in Oslo and Bergen?' },
          {
            role: 'assistant',
            content: 'Checking.',
            toolCalls: [
              { id: 'toolu_1', name: 'weather', arguments: '{"city":"Oslo"}' },
              { id: 'toolu_2', name: 'weather', arguments: '{"city":"Bergen"}' },
            ],
          },
          { role: 'tool', content: '3C', toolCallId: 'toolu_1' },
          { role: 'tool', content: '7C', toolCallId: 'toolu_2' },
        ],
        temperature: 0.3,
        stop: ['END'],
        responseFormat: 'json',
        tools: [{ name: 'weather', description: 'Look up weather', parameters: { type: 'object' } }],
        toolChoice: 'required',
      },
      attemptContext().context,
    );
    expect(bodies).toEqual([
      {
        model: 'claude-sonnet-4-6',
        max_tokens: 4096,
        system: `Be brief.\n\nUse metric units.\n\n${JSON_MODE_INSTRUCTION}`,
        messages: [
          { role: 'user', content: 'Weather in Oslo and Bergen?' },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } },
              { type: 'tool_use', id: 'toolu_2', name: 'weather', input: { city: 'Bergen' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: '3C' },
              { type: 'tool_result', tool_use_id: 'toolu_2', content: '7C' },
            ],
          },
        ],
        temperature: 0.3,
        stop_sequences: ['END'],
        tools: [{ name: 'weather', description: 'Look up weather', input_schema: { type: 'object' } }],
        tool_choice: { type: 'any' },
      },
    ]);
  });

  it('always sends max_tokens: request value capped by the deployment', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(message()));
    await adapter({ maxOutputTokens: 1024 }).complete(hi, attemptContext().context);
    await adapter({ maxOutputTokens: 1024 }).complete(
      { ...hi, maxOutputTokens: 5000 },
      attemptContext().context,
    );
    await adapter().complete({ ...hi, maxOutputTokens: 300 }, attemptContext().context);
    expect(bodies.map((b) => (b as { max_tokens: number }).max_tokens)).toEqual([1024, 1024, 300]);
  });

  it('rewriteParams omits optional params but never the required max_tokens', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(message()));
    await adapter().complete(
      { ...hi, temperature: 0.9, stop: ['x'] },
      attemptContext({ rewriteParams: ['temperature', 'max_tokens'] }).context,
    );
    expect(bodies[0]).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'hi' }],
      stop_sequences: ['x'],
    });
  });
});

describe('anthropic adapter: response mapping', () => {
  it('maps text and tool_use blocks, usage with cache reads, id and model', async () => {
    recordPost(URL, () =>
      HttpResponse.json(
        message({
          content: [
            { type: 'text', text: 'Let me check. ' },
            { type: 'tool_use', id: 'toolu_9', name: 'weather', input: { city: 'Oslo' } },
          ],
          stop_reason: 'tool_use',
          usage: {
            input_tokens: 50,
            output_tokens: 20,
            cache_read_input_tokens: 1000,
            cache_creation_input_tokens: 200,
          },
        }),
      ),
    );
    const result = await adapter().complete(hi, attemptContext().context);
    expect(result).toEqual({
      id: 'msg_1',
      text: 'Let me check. ',
      toolCalls: [{ id: 'toolu_9', name: 'weather', arguments: '{"city":"Oslo"}' }],
      finishReason: 'tool_calls',
      // inputTokens is the whole prompt (uncached + cache read + cache write), as OpenAI's prompt_tokens.
      usage: { inputTokens: 1250, outputTokens: 20, cachedInputTokens: 1000 },
      model: 'claude-sonnet-4-6-20250929',
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'refusal'],
    ['pause_turn', 'other'],
  ])('stop_reason %s becomes %s', async (wire, expected) => {
    recordPost(URL, () => HttpResponse.json(message({ stop_reason: wire })));
    const result = await adapter().complete(hi, attemptContext().context);
    expect(result.finishReason).toBe(expected);
  });
});

const streamEvents = [
  {
    event: 'message_start',
    data: {
      type: 'message_start',
      message: {
        id: 'msg_s',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-6-20250929',
        content: [],
        stop_reason: null,
        usage: {
          input_tokens: 30,
          output_tokens: 1,
          cache_read_input_tokens: 12,
          cache_creation_input_tokens: 0,
        },
      },
    },
  },
  {
    event: 'content_block_start',
    data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  },
  { event: 'ping', data: { type: 'ping' } },
  {
    event: 'content_block_delta',
    data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
  },
  {
    event: 'content_block_delta',
    data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
  },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
  {
    event: 'content_block_start',
    data: {
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} },
    },
  },
  {
    event: 'content_block_delta',
    data: {
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '{"city":' },
    },
  },
  {
    event: 'content_block_delta',
    data: {
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '"Oslo"}' },
    },
  },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
  {
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 42 },
    },
  },
];
const messageStop = { event: 'message_stop', data: { type: 'message_stop' } };

describe('anthropic adapter: streaming', () => {
  it('yields text deltas, the assembled tool call, usage with cumulative output tokens, and finish', async () => {
    const { bodies } = recordPost(URL, () => sseResponse(namedSse([...streamEvents, messageStop])));
    const events = await collect(adapter().stream(hi, attemptContext().context));
    expect(bodies[0]).toMatchObject({ stream: true, max_tokens: 4096 });
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'tool-call', call: { id: 'toolu_1', name: 'weather', arguments: '{"city":"Oslo"}' } },
      { type: 'usage', usage: { inputTokens: 42, outputTokens: 42, cachedInputTokens: 12 } },
      { type: 'finish', finishReason: 'tool_calls', id: 'msg_s', model: 'claude-sonnet-4-6-20250929' },
    ]);
  });

  it('a stream that ends without message_stop throws network', async () => {
    recordPost(URL, () => sseResponse(namedSse(streamEvents.slice(0, 5))));
    const error = await rejection(collect(adapter().stream(hi, attemptContext().context)));
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/stream was cut before message_stop/);
  });

  it('an overloaded_error event in a 200 stream becomes overloaded with no status', async () => {
    recordPost(URL, () =>
      sseResponse(
        namedSse([
          ...streamEvents.slice(0, 4),
          {
            event: 'error',
            data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
          },
        ]),
      ),
    );
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const event of adapter().stream(hi, attemptContext().context)) seen.push(event.type);
      })(),
    );
    expect(seen).toEqual(['text-delta']);
    expect(error.kind).toBe('overloaded');
    expect(error.status).toBeUndefined();
    expect(error.code).toBe('overloaded_error');
  });

  it('a `data: null` event is skipped, not a TypeError (found by core/test/hardening/properties.test.ts)', async () => {
    recordPost(URL, () => sseResponse(['event: \ndata: null\n\n']));
    const error = await rejection(
      collect(adapter().stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context)),
    );
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/cut before/);
  });

  it('an abort during a stalled stream rejects with the router error', async () => {
    recordPost(URL, () => sseResponse(namedSse(streamEvents.slice(0, 4)), { stall: true }));
    const subject = adapter();
    await expectRouterAbort((signal) => collect(subject.stream(hi, attemptContext({ signal }).context)));
  });
});

function anthropicError(type: string, text: string) {
  return { type: 'error', error: { type, message: text }, request_id: 'req_body_1' };
}

const NOW = Date.now();
const ERROR_CASES: {
  name: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  kind: ErrorKind;
  check?: Record<string, unknown>;
}[] = [
  {
    name: '429 with retry-after seconds',
    status: 429,
    body: anthropicError(
      'rate_limit_error',
      'Number of request tokens has exceeded your per-minute rate limit',
    ),
    headers: { 'retry-after': '7', 'request-id': 'req_hdr_1' },
    kind: 'rate_limited',
    check: { retryAfterMs: 7000, requestId: 'req_hdr_1', code: 'rate_limit_error' },
  },
  {
    name: '429 with retry-after as an HTTP date',
    status: 429,
    body: anthropicError('rate_limit_error', 'rate limited'),
    headers: { 'retry-after': new Date(NOW + 30_000).toUTCString() },
    kind: 'rate_limited',
  },
  {
    name: '402 billing_error',
    status: 402,
    body: anthropicError('billing_error', 'Your credit balance is too low'),
    kind: 'quota_exhausted',
  },
  {
    name: '529 overloaded',
    status: 529,
    body: anthropicError('overloaded_error', 'Overloaded'),
    kind: 'overloaded',
  },
  {
    name: '500 api_error',
    status: 500,
    body: anthropicError('api_error', 'Internal server error'),
    kind: 'server_error',
  },
  {
    name: '504 timeout_error',
    status: 504,
    body: anthropicError('timeout_error', 'Request timeout'),
    kind: 'timeout',
    check: { timeoutPhase: 'headers' },
  },
  {
    name: '401',
    status: 401,
    body: anthropicError('authentication_error', 'invalid x-api-key'),
    kind: 'auth',
  },
  { name: '403', status: 403, body: anthropicError('permission_error', 'no access'), kind: 'auth' },
  { name: '404', status: 404, body: anthropicError('not_found_error', 'model: claude-9'), kind: 'not_found' },
  {
    name: '400 prompt is too long',
    status: 400,
    body: anthropicError('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'),
    kind: 'context_overflow',
  },
  {
    name: '400 other',
    status: 400,
    body: anthropicError('invalid_request_error', 'messages: roles must alternate'),
    kind: 'bad_request',
    check: { requestId: 'req_body_1' },
  },
  {
    name: '413',
    status: 413,
    body: anthropicError('request_too_large', 'Request exceeds the maximum size'),
    kind: 'bad_request',
  },
];

describe('anthropic adapter: error mapping', () => {
  it.each(ERROR_CASES)(
    '$name → $kind, with exactly one HTTP request',
    async ({ status, body, headers, kind, check }) => {
      let calls = 0;
      server.use(
        http.post(URL, () => {
          calls++;
          return HttpResponse.json(body as JsonBodyType, { status, headers });
        }),
      );
      const { context, onResponseHeaders } = attemptContext();
      const error = await rejection(adapter().complete(hi, context));
      expect(error.kind).toBe(kind);
      expect(error.status).toBe(status);
      expect(error.provider).toBe('anthropic');
      if (check) expect(error).toMatchObject(check);
      expect(calls).toBe(1);
      expect(onResponseHeaders).toHaveBeenCalledTimes(1);
    },
  );

  it('reads retryAfterMs from an HTTP date relative to now', async () => {
    recordPost(URL, () =>
      HttpResponse.json(anthropicError('rate_limit_error', 'rate limited'), {
        status: 429,
        headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() },
      }),
    );
    const error = await rejection(adapter().complete(hi, attemptContext().context));
    // HTTP dates have one-second resolution.
    expect(error.retryAfterMs).toBeGreaterThan(28_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('sends the key as a bearer token and never echoes it in errors', async () => {
    const { headers } = recordPost(URL, () =>
      HttpResponse.json(anthropicError('authentication_error', `invalid key ${FAKE_KEY}`), { status: 401 }),
    );
    const error = await rejection(adapter().complete(hi, attemptContext().context));
    expect(headers[0]?.get('authorization')).toBe(`Bearer ${FAKE_KEY}`);
    expect(error.message).not.toContain(FAKE_KEY);
  });

  it('an abort with a router error during a stalled body read rejects with that error', async () => {
    recordPost(URL, () => streamedResponse(['{"id":"msg_1",'], 'application/json', { stall: true }));
    const subject = adapter();
    await expectRouterAbort((signal) => subject.complete(hi, attemptContext({ signal }).context));
  });
});
