import { delay, HttpResponse, http, type JsonBodyType } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/runtime/errors.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import { OpenAIAdapter } from '../../src/runtime/providers/openai.ts';
import type { ChatRequest } from '../../src/runtime/types.ts';
import {
  attemptContext,
  collect,
  deployment,
  expectRouterAbort,
  FAKE_KEY,
  OPENAI_BASE,
  recordPost,
  rejection,
  server,
  sse,
  sseResponse,
  streamedResponse,
} from './helpers.ts';

const URL = `${OPENAI_BASE}/chat/completions`;

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function adapter(model = 'gpt-4.1-mini', extra: Record<string, unknown> = {}) {
  return createAdapter(deployment({ provider: 'openai', model, baseURL: OPENAI_BASE, ...extra }), {
    apiKey: FAKE_KEY,
  });
}

function completion(overrides: Record<string, unknown> = {}, message: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4.1-mini-2025-04-14',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello!', refusal: null, ...message },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    ...overrides,
  };
}

const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Weather in Oslo?' },
    {
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' }],
    },
    { role: 'tool', content: '{"temp":3}', toolCallId: 'call_1' },
  ],
  temperature: 0.2,
  maxOutputTokens: 100,
  stop: ['END'],
  responseFormat: 'json',
  tools: [{ name: 'weather', description: 'Look up weather', parameters: { type: 'object' } }],
  toolChoice: { name: 'weather' },
};

describe('openai adapter: request body', () => {
  it('sends the chat.completions body the SDK builds from a ChatRequest', async () => {
    const { bodies, headers } = recordPost(URL, () => HttpResponse.json(completion()));
    await adapter().complete(request, attemptContext().context);
    expect(bodies).toEqual([
      {
        model: 'gpt-4.1-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Oslo?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":3}' },
        ],
        temperature: 0.2,
        max_tokens: 100,
        stop: ['END'],
        response_format: { type: 'json_object' },
        tools: [
          {
            type: 'function',
            function: { name: 'weather', description: 'Look up weather', parameters: { type: 'object' } },
          },
        ],
        tool_choice: { type: 'function', function: { name: 'weather' } },
      },
    ]);
    expect(headers[0]?.get('authorization')).toBe(`Bearer ${FAKE_KEY}`);
  });

  it.each([
    ['gpt-5-mini', {}],
    ['o3', {}],
    ['o4-mini', {}],
    ['openai/gpt-5', {}],
    ['my-finetune', { reasoning: true }],
  ])('reasoning model %s gets max_completion_tokens and no temperature', async (model, extra) => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(completion()));
    await adapter(model, extra).complete(
      { messages: [{ role: 'user', content: 'hi' }], temperature: 0.7, maxOutputTokens: 50 },
      attemptContext().context,
    );
    expect(bodies[0]).toEqual({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 50,
    });
  });

  it('does not treat look-alike names (gpt-4o, o1x) as reasoning models', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(completion()));
    await adapter('gpt-4o').complete(
      { messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 5 },
      attemptContext().context,
    );
    expect(bodies[0]).toMatchObject({ max_tokens: 5 });
  });

  it('caps the request limit at the deployment maxOutputTokens', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(completion()));
    await adapter('gpt-4.1', { maxOutputTokens: 64 }).complete(
      { messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 1000 },
      attemptContext().context,
    );
    expect(bodies[0]).toMatchObject({ max_tokens: 64 });
  });

  it('rewriteParams turns max_tokens into max_completion_tokens and omits other listed params', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(completion()));
    await adapter().complete(
      { messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, maxOutputTokens: 20, stop: ['x'] },
      attemptContext({ rewriteParams: ['max_tokens', 'temperature', 'stop'] }).context,
    );
    expect(bodies[0]).toEqual({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 20,
    });
  });

  it('serves openai-compatible servers at a custom baseURL without an API key', async () => {
    const { bodies, headers } = recordPost('http://127.0.0.1:4010/vllm/v1/chat/completions', () =>
      HttpResponse.json(completion({ model: 'qwen' })),
    );
    const vllm = createAdapter(
      deployment({ provider: 'openai-compatible', model: 'qwen', baseURL: 'http://127.0.0.1:4010/vllm/v1' }),
      {},
    );
    const result = await vllm.complete(
      { messages: [{ role: 'user', content: 'hi' }] },
      attemptContext().context,
    );
    expect(vllm).toBeInstanceOf(OpenAIAdapter);
    expect(vllm.provider).toBe('openai-compatible');
    expect(result.model).toBe('qwen');
    expect(bodies).toHaveLength(1);
    expect(headers[0]?.get('authorization')).toBe('Bearer switchyard-no-key-configured');
  });
});

describe('openai adapter: response mapping', () => {
  it('maps text, tool calls, finish reason, usage with cached tokens, id and model', async () => {
    recordPost(URL, () =>
      HttpResponse.json(
        completion(
          {
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: null,
                  refusal: null,
                  tool_calls: [
                    {
                      id: 'call_a',
                      type: 'function',
                      function: { name: 'weather', arguments: '{"city":"Oslo"}' },
                    },
                    { id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } },
                  ],
                },
                finish_reason: 'tool_calls',
              },
            ],
            usage: {
              prompt_tokens: 2006,
              completion_tokens: 300,
              total_tokens: 2306,
              prompt_tokens_details: { cached_tokens: 1920 },
            },
          },
          {},
        ),
      ),
    );
    const result = await adapter().complete(
      { messages: [{ role: 'user', content: 'hi' }] },
      attemptContext().context,
    );
    expect(result).toEqual({
      id: 'chatcmpl-1',
      text: '',
      toolCalls: [
        { id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}' },
        { id: 'call_b', name: 'time', arguments: '{}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 2006, outputTokens: 300, cachedInputTokens: 1920 },
      model: 'gpt-4.1-mini-2025-04-14',
    });
  });

  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['content_filter', 'content_filter'],
    ['something_new', 'other'],
  ])('finish_reason %s becomes %s (content_filter is a result, not an error)', async (wire, expected) => {
    recordPost(URL, () =>
      HttpResponse.json(
        completion({
          choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: wire }],
        }),
      ),
    );
    const result = await adapter().complete(
      { messages: [{ role: 'user', content: 'hi' }] },
      attemptContext().context,
    );
    expect(result.finishReason).toBe(expected);
  });

  it('a message with refusal set finishes with refusal and keeps the explanation', async () => {
    recordPost(URL, () =>
      HttpResponse.json(completion({}, { content: null, refusal: "I can't help with that." })),
    );
    const result = await adapter().complete(
      { messages: [{ role: 'user', content: 'hi' }] },
      attemptContext().context,
    );
    expect(result.finishReason).toBe('refusal');
    expect(result.text).toBe("I can't help with that.");
  });

  it('a 200 without choices is a malformed response', async () => {
    recordPost(URL, () => HttpResponse.json({ id: 'x', object: 'chat.completion', model: 'm', choices: [] }));
    const error = await rejection(
      adapter().complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(error.kind).toBe('malformed_response');
  });

  it('a truncated JSON body is a malformed response, not a raw SyntaxError', async () => {
    recordPost(
      URL,
      () =>
        new HttpResponse('{"id":"chatcmpl-1","choices":[{"mess', {
          headers: { 'content-type': 'application/json' },
        }),
    );
    const error = await rejection(
      adapter().complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(error.kind).toBe('malformed_response');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: 'chatcmpl-s',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4.1-mini-2025-04-14',
    choices: [{ index: 0, delta, finish_reason: finish }],
    usage: null,
  };
}

const usageChunk = {
  id: 'chatcmpl-s',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4.1-mini-2025-04-14',
  choices: [],
  usage: {
    prompt_tokens: 9,
    completion_tokens: 4,
    total_tokens: 13,
    prompt_tokens_details: { cached_tokens: 8 },
  },
};

describe('openai adapter: streaming', () => {
  it('yields text deltas, tool calls assembled from deltas, usage and finish; asks for include_usage', async () => {
    const { bodies } = recordPost(URL, () =>
      sseResponse(
        sse([
          chunk({ role: 'assistant', content: '' }),
          chunk({ content: 'Hel' }),
          chunk({ content: 'lo' }),
          chunk({
            tool_calls: [
              { index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } },
            ],
          }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
          chunk({}, 'tool_calls'),
          usageChunk,
        ]),
      ),
    );
    const events = await collect(
      adapter().stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(bodies[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'tool-call', call: { id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' } },
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 8 } },
      { type: 'finish', finishReason: 'tool_calls', id: 'chatcmpl-s', model: 'gpt-4.1-mini-2025-04-14' },
    ]);
  });

  it('a stream cut before finish_reason and [DONE] throws network instead of ending quietly', async () => {
    recordPost(URL, () => sseResponse(sse([chunk({ content: 'Hel' })], { done: false })));
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const event of adapter().stream(
          { messages: [{ role: 'user', content: 'hi' }] },
          attemptContext().context,
        )) {
          seen.push(event.type);
        }
      })(),
    );
    expect(seen).toEqual(['text-delta']);
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/stream was cut/);
  });

  it('an {"error":...} event inside a 200 stream becomes a typed error with no status', async () => {
    recordPost(URL, () =>
      sseResponse([
        ...sse([chunk({ content: 'Hi' })], { done: false }),
        `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', code: null } })}\n\n`,
      ]),
    );
    const error = await rejection(
      collect(adapter().stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context)),
    );
    expect(error.kind).toBe('server_error');
    expect(error.status).toBeUndefined();
    expect(error.code).toBe('server_error');
  });

  it('a 429 on a stream request is classified before any event', async () => {
    recordPost(URL, () =>
      HttpResponse.json(
        { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        { status: 429, headers: { 'retry-after': '2' } },
      ),
    );
    const error = await rejection(
      collect(adapter().stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context)),
    );
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(2000);
  });
});

const ERROR_CASES: {
  name: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  kind: ErrorKind;
  check?: Record<string, unknown>;
}[] = [
  {
    name: '429 with retry-after-ms',
    status: 429,
    body: {
      error: {
        message: 'Rate limit reached for gpt-4.1 on tokens per min (TPM).',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    headers: { 'retry-after-ms': '1500', 'retry-after': '9', 'x-request-id': 'req_abc' },
    kind: 'rate_limited',
    check: { retryAfterMs: 1500, status: 429, code: 'rate_limit_exceeded', requestId: 'req_abc' },
  },
  {
    name: '429 with the wait only in the message',
    status: 429,
    body: {
      error: {
        message: 'Rate limit reached. Please try again in 174ms. Visit...',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    kind: 'rate_limited',
    check: { retryAfterMs: 174 },
  },
  {
    name: '429 insufficient_quota',
    status: 429,
    body: {
      error: {
        message: 'You exceeded your current quota.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    },
    kind: 'quota_exhausted',
    check: { retryable: false, code: 'insufficient_quota' },
  },
  {
    name: '503 slow down',
    status: 503,
    body: { error: { message: 'Slow Down', type: 'server_error' } },
    kind: 'overloaded',
  },
  {
    name: '500',
    status: 500,
    body: { error: { message: 'The server had an error', type: 'server_error', code: null } },
    kind: 'server_error',
  },
  { name: '502', status: 502, body: 'Bad gateway', kind: 'server_error' },
  {
    name: '504',
    status: 504,
    body: 'Gateway timeout',
    kind: 'timeout',
    check: { timeoutPhase: 'headers', status: 504 },
  },
  {
    name: '401',
    status: 401,
    body: { error: { message: 'Invalid key', type: 'invalid_request_error', code: 'invalid_api_key' } },
    kind: 'auth',
  },
  {
    name: '403',
    status: 403,
    body: { error: { message: 'Country not supported', type: 'request_forbidden' } },
    kind: 'auth',
  },
  {
    name: '400 unsupported_parameter',
    status: 400,
    body: {
      error: {
        message:
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'unsupported_parameter',
      },
    },
    kind: 'unsupported_parameter',
    check: { param: 'max_tokens', retryable: false, fallbackable: true },
  },
  {
    name: '400 unsupported temperature value',
    status: 400,
    body: {
      error: {
        message:
          "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'unsupported_value',
      },
    },
    kind: 'unsupported_parameter',
    check: { param: 'temperature' },
  },
  {
    name: '400 context_length_exceeded',
    status: 400,
    body: {
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    },
    kind: 'context_overflow',
  },
  {
    name: '404',
    status: 404,
    body: { error: { message: 'The model `gpt-9` does not exist', code: 'model_not_found' } },
    kind: 'not_found',
  },
  { name: '422', status: 422, body: { error: { message: 'Unprocessable' } }, kind: 'bad_request' },
  {
    name: '400 plain',
    status: 400,
    body: {
      error: { message: "'messages' must contain at least one message", type: 'invalid_request_error' },
    },
    kind: 'bad_request',
    check: { fallbackable: false },
  },
];

describe('openai adapter: error mapping', () => {
  it.each(ERROR_CASES)(
    '$name → $kind, with exactly one HTTP request',
    async ({ status, body, headers, kind, check }) => {
      let calls = 0;
      server.use(
        http.post(URL, () => {
          calls++;
          return typeof body === 'string'
            ? new HttpResponse(body, { status, headers })
            : HttpResponse.json(body as JsonBodyType, { status, headers });
        }),
      );
      const { context, onResponseHeaders } = attemptContext();
      const error = await rejection(
        adapter().complete({ messages: [{ role: 'user', content: 'hi' }] }, context),
      );
      expect(error.kind).toBe(kind);
      expect(error.provider).toBe('openai');
      expect(error.deployment).toBe('openai-gpt-4.1-mini');
      expect(error.status).toBe(status);
      if (check) expect(error).toMatchObject(check);
      expect(calls).toBe(1);
      expect(onResponseHeaders).toHaveBeenCalledTimes(1);
      expect(onResponseHeaders.mock.calls[0]?.[0]).toBe(status);
    },
  );

  it('never puts the API key in the message', async () => {
    recordPost(URL, () =>
      HttpResponse.json(
        {
          error: {
            message: `Incorrect API key provided: ${FAKE_KEY}. You can find your key at ...`,
            code: 'invalid_api_key',
          },
        },
        { status: 401 },
      ),
    );
    const error = await rejection(
      adapter().complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain(FAKE_KEY);
    expect(JSON.stringify(error.toJSON())).not.toContain(FAKE_KEY);
  });

  it('a refused connection is network', async () => {
    server.use(http.post(URL, () => HttpResponse.error()));
    const error = await rejection(
      adapter().complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(error.kind).toBe('network');
    expect(error.status).toBeUndefined();
  });

  it("the SDK's own timeout maps to timeout in the headers phase", async () => {
    server.use(
      http.post(URL, async () => {
        await delay('infinite');
        return HttpResponse.json(completion());
      }),
    );
    const slow = createAdapter(deployment({ provider: 'openai', model: 'gpt-4.1', baseURL: OPENAI_BASE }), {
      apiKey: FAKE_KEY,
      sdkTimeoutMs: 50,
    });
    const error = await rejection(
      slow.complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context),
    );
    expect(error.kind).toBe('timeout');
    expect(error.timeoutPhase).toBe('headers');
  });
});

describe('openai adapter: per-attempt hooks and aborts', () => {
  it('reports headers once on success and leaves other attempts on the same client alone', async () => {
    recordPost(URL, () => HttpResponse.json(completion(), { headers: { 'x-request-id': 'req_1' } }));
    const shared = adapter();
    const a = attemptContext();
    const b = attemptContext();
    await Promise.all([
      shared.complete({ messages: [{ role: 'user', content: 'a' }] }, a.context),
      shared.complete({ messages: [{ role: 'user', content: 'b' }] }, b.context),
    ]);
    expect(a.onResponseHeaders).toHaveBeenCalledTimes(1);
    expect(b.onResponseHeaders).toHaveBeenCalledTimes(1);
    expect(a.onResponseHeaders.mock.calls[0]?.[1].get('x-request-id')).toBe('req_1');
  });

  it('an abort with a SwitchyardError reason during a stalled body read rejects with that error', async () => {
    recordPost(URL, () => streamedResponse(['{"id":"chatcmpl-1",'], 'application/json', { stall: true }));
    const subject = adapter();
    await expectRouterAbort((signal) =>
      subject.complete({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext({ signal }).context),
    );
  });

  it('an abort during a stalled stream rejects the iteration with that error', async () => {
    recordPost(URL, () => sseResponse(sse([chunk({ content: 'Hi' })], { done: false }), { stall: true }));
    const subject = adapter();
    await expectRouterAbort((signal) =>
      collect(
        subject.stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext({ signal }).context),
      ),
    );
  });

  it('an abort for any other reason is cancelled', async () => {
    recordPost(URL, async () => {
      await delay('infinite');
      return HttpResponse.json(completion());
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('caller went away')), 20);
    const error = await rejection(
      adapter().complete(
        { messages: [{ role: 'user', content: 'hi' }] },
        attemptContext({ signal: controller.signal }).context,
      ),
    );
    expect(error.kind).toBe('cancelled');
    expect(error.retryable).toBe(false);
  });
});
