import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ErrorKind } from '../../src/runtime/errors.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import {
  attemptContext,
  collect,
  deployment,
  expectRouterAbort,
  ndjsonResponse,
  OLLAMA_BASE,
  recordPost,
  rejection,
  server,
  streamedResponse,
} from './helpers.ts';

const URL = `${OLLAMA_BASE}/api/chat`;

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function adapter(extra: Record<string, unknown> = {}) {
  return createAdapter(
    deployment({ provider: 'ollama', model: 'llama3.2', baseURL: OLLAMA_BASE, ...extra }),
    {},
  );
}

function final(overrides: Record<string, unknown> = {}) {
  return {
    model: 'llama3.2',
    created_at: '2026-01-01T00:00:00Z',
    message: { role: 'assistant', content: 'Hello!' },
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 1,
    prompt_eval_count: 26,
    prompt_eval_duration: 1,
    eval_count: 7,
    eval_duration: 1,
    ...overrides,
  };
}

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };
const line = (value: unknown) => `${JSON.stringify(value)}\n`;

describe('ollama adapter: request body', () => {
  it('sends /api/chat with options.num_predict, temperature, stop, format json and tools', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(final()));
    await adapter().complete(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }],
          },
          { role: 'tool', content: '3C', toolCallId: 'c1' },
        ],
        temperature: 0.1,
        maxOutputTokens: 77,
        stop: ['END'],
        responseFormat: 'json',
        tools: [{ name: 'weather', parameters: { type: 'object' } }],
      },
      attemptContext().context,
    );
    expect(bodies).toEqual([
      {
        model: 'llama3.2',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }],
          },
          { role: 'tool', content: '3C', tool_name: 'weather' },
        ],
        format: 'json',
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
        options: { temperature: 0.1, num_predict: 77, stop: ['END'] },
        stream: false,
      },
    ]);
  });

  it('rewriteParams removes options by wire or unified name', async () => {
    const { bodies } = recordPost(URL, () => HttpResponse.json(final()));
    await adapter().complete(
      { ...hi, temperature: 0.5, maxOutputTokens: 10, responseFormat: 'json' },
      attemptContext({ rewriteParams: ['temperature', 'max_tokens', 'format'] }).context,
    );
    expect(bodies[0]).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
    });
  });
});

describe('ollama adapter: response mapping', () => {
  it('maps text, usage from prompt_eval_count/eval_count and done_reason length', async () => {
    recordPost(URL, () => HttpResponse.json(final({ done_reason: 'length' })));
    const result = await adapter().complete(hi, attemptContext().context);
    expect(result).toMatchObject({
      text: 'Hello!',
      finishReason: 'length',
      usage: { inputTokens: 26, outputTokens: 7, cachedInputTokens: 0 },
      model: 'llama3.2',
      toolCalls: [],
    });
  });

  it('tool calls get ids and finish with tool_calls even though done_reason says stop', async () => {
    recordPost(URL, () =>
      HttpResponse.json(
        final({
          message: {
            role: 'assistant',
            content: '',
            tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }],
          },
        }),
      ),
    );
    const result = await adapter().complete(hi, attemptContext().context);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([{ id: 'call_0', name: 'weather', arguments: '{"city":"Oslo"}' }]);
  });

  it('a 200 body {"error": ...} is a typed error, not a result', async () => {
    recordPost(URL, () => HttpResponse.json({ error: 'model runner has unexpectedly stopped' }));
    const error = await rejection(adapter().complete(hi, attemptContext().context));
    expect(error.kind).toBe('server_error');
  });

  it('a truncated JSON body is malformed_response', async () => {
    recordPost(
      URL,
      () =>
        new HttpResponse('{"model":"llama3.2","mess', { headers: { 'content-type': 'application/json' } }),
    );
    const error = await rejection(adapter().complete(hi, attemptContext().context));
    expect(error.kind).toBe('malformed_response');
  });
});

describe('ollama adapter: streaming', () => {
  it('yields text deltas from NDJSON lines, then usage and finish', async () => {
    const { bodies } = recordPost(URL, () =>
      ndjsonResponse([
        line({ model: 'llama3.2', message: { role: 'assistant', content: 'Hel' }, done: false }),
        line({ model: 'llama3.2', message: { role: 'assistant', content: 'lo' }, done: false }),
        line(final({ message: { role: 'assistant', content: '' } })),
      ]),
    );
    const { context, onResponseHeaders } = attemptContext();
    const events = await collect(adapter().stream(hi, context));
    expect(bodies[0]).toMatchObject({ stream: true });
    expect(onResponseHeaders).toHaveBeenCalledTimes(1);
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'usage', usage: { inputTokens: 26, outputTokens: 7, cachedInputTokens: 0 } },
      { type: 'finish', finishReason: 'stop', model: 'llama3.2' },
    ]);
  });

  it('a stream without done: true throws network (the SDK message is mapped)', async () => {
    recordPost(URL, () =>
      ndjsonResponse([
        line({ model: 'llama3.2', message: { role: 'assistant', content: 'Hel' }, done: false }),
      ]),
    );
    const error = await rejection(collect(adapter().stream(hi, attemptContext().context)));
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/stream was cut before a line with done: true/);
  });

  it('a mid-stream {"error": ...} line becomes a typed error', async () => {
    recordPost(URL, () =>
      ndjsonResponse([
        line({ model: 'llama3.2', message: { role: 'assistant', content: 'Hel' }, done: false }),
        line({ error: 'server busy, please try again. maximum pending requests exceeded' }),
      ]),
    );
    const error = await rejection(collect(adapter().stream(hi, attemptContext().context)));
    expect(error.kind).toBe('overloaded');
    expect(error.status).toBeUndefined();
  });

  it('SDK behaviour: a malformed NDJSON line is skipped silently (documented, not fought)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    recordPost(URL, () =>
      ndjsonResponse([
        line({ model: 'llama3.2', message: { role: 'assistant', content: 'A' }, done: false }),
        '{"model":"llama3.2","message":{"con\n',
        line(final({ message: { role: 'assistant', content: 'B' } })),
      ]),
    );
    const events = await collect(adapter().stream(hi, attemptContext().context));
    expect(events.filter((e) => e.type === 'text-delta')).toEqual([
      { type: 'text-delta', text: 'A' },
      { type: 'text-delta', text: 'B' },
    ]);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('an abort during a stalled stream rejects with the router error', async () => {
    recordPost(URL, () =>
      ndjsonResponse(
        [line({ model: 'llama3.2', message: { role: 'assistant', content: 'Hel' }, done: false })],
        { stall: true },
      ),
    );
    const subject = adapter();
    await expectRouterAbort((signal) => collect(subject.stream(hi, attemptContext({ signal }).context)));
  });
});

const ERROR_CASES: {
  status: number;
  error: string;
  headers?: Record<string, string>;
  kind: ErrorKind;
  check?: Record<string, unknown>;
}[] = [
  { status: 404, error: "model 'llama9' not found, try pulling it first", kind: 'not_found' },
  {
    status: 429,
    error: 'too many requests',
    headers: { 'retry-after': '3' },
    kind: 'rate_limited',
    check: { retryAfterMs: 3000 },
  },
  { status: 500, error: 'llama runner process has terminated', kind: 'server_error' },
  { status: 502, error: 'bad gateway', kind: 'server_error' },
  { status: 503, error: 'server busy', kind: 'overloaded' },
  { status: 401, error: 'unauthorized', kind: 'auth' },
  { status: 400, error: 'the input length exceeds the context length', kind: 'context_overflow' },
  { status: 400, error: 'invalid options', kind: 'bad_request' },
];

describe('ollama adapter: error mapping', () => {
  it.each(ERROR_CASES)('$status $error → $kind', async ({ status, error: text, headers, kind, check }) => {
    let calls = 0;
    server.use(
      http.post(URL, () => {
        calls++;
        return HttpResponse.json(
          { error: text },
          { status, headers: { 'x-request-id': 'oreq_1', ...headers } },
        );
      }),
    );
    const { context, onResponseHeaders } = attemptContext();
    const error = await rejection(adapter().complete(hi, context));
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.message).toContain(text);
    // ResponseError keeps no headers; they come from the fetch hook.
    expect(error.requestId).toBe('oreq_1');
    if (check) expect(error).toMatchObject(check);
    expect(calls).toBe(1);
    expect(onResponseHeaders).toHaveBeenCalledTimes(1);
  });

  it('a refused connection is network', async () => {
    server.use(http.post(URL, () => HttpResponse.error()));
    const error = await rejection(adapter().complete(hi, attemptContext().context));
    expect(error.kind).toBe('network');
  });

  it('an abort with a router error during a stalled non-streamed body rejects with that error', async () => {
    // ollama-js passes no signal on non-streamed calls; the fetch hook supplies the attempt's.
    recordPost(URL, () => streamedResponse(['{"model":"llama3.2",'], 'application/json', { stall: true }));
    const subject = adapter();
    await expectRouterAbort((signal) => subject.complete(hi, attemptContext({ signal }).context));
  });
});
