import { describe, expect, it } from 'vitest';
import { FAULT_IDS, FAULTS } from '../../../src/faults/chaos/catalogue.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { chaosOverSimulator, KEY, ORIGIN, openaiBody, post, sseData } from '../chaos/helpers.ts';
import { openaiValidators, type Root } from './openai-schema.ts';

/**
 * Every OpenAI body the simulator and the fault catalogue produce, validated against the official
 * schemas (see openai-schema.ts for what was adapted). Each body is checked twice: against the
 * official (open) schemas, and against a closed variant that also rejects fields the spec lacks.
 */
const official = openaiValidators();
const closed = openaiValidators({ closed: true });

function expectValid(root: Root, value: unknown, where: string): void {
  const open = official.validate(root, value);
  expect(open.errors, `${where} vs ${root}`).toBe('');
  const strict = closed.validate(root, value);
  expect(strict.errors, `${where} vs closed ${root}`).toBe('');
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
};

const jsonSchemaFormat = {
  type: 'json_schema',
  json_schema: {
    name: 'forecast',
    strict: true,
    schema: {
      type: 'object',
      properties: { city: { type: 'string' }, high: { type: 'number' }, rain: { type: 'boolean' } },
      required: ['city', 'high', 'rain'],
      additionalProperties: false,
    },
  },
};

interface BodyCase {
  name: string;
  extra: Record<string, unknown>;
  rules?: FaultRule[];
  /** What makes this case the case it claims to be (so a silently ignored option fails). */
  check(message: { content: string | null; tool_calls?: unknown[] }, finish: string | null): void;
}

const plain = (_m: unknown, finish: string | null) => expect(finish).toBe('stop');
const parses = (m: { content: string | null }) => expect(() => JSON.parse(m.content ?? '')).not.toThrow();

const BODY_CASES: BodyCase[] = [
  { name: 'plain text', extra: {}, check: plain },
  {
    name: 'JSON mode (json_object)',
    extra: { response_format: { type: 'json_object' } },
    check: (m, f) => {
      parses(m);
      expect(f).toBe('stop');
    },
  },
  {
    name: 'structured output (json_schema)',
    extra: { response_format: jsonSchemaFormat },
    check: (m) => expect(Object.keys(JSON.parse(m.content ?? '{}')).sort()).toEqual(['city', 'high', 'rain']),
  },
  {
    name: 'tool call',
    extra: { tools: [weatherTool], tool_choice: 'required' },
    check: (m, f) => {
      expect(f).toBe('tool_calls');
      expect(m.tool_calls?.length).toBe(1);
    },
  },
  {
    name: 'length truncation (max_tokens)',
    extra: { max_tokens: 4 },
    check: (_m, f) => expect(f).toBe('length'),
  },
  {
    name: 'reasoning model (max_completion_tokens)',
    extra: { model: 'o3', max_completion_tokens: 2000 },
    check: plain,
  },
  {
    name: 'fault content_filter',
    extra: {},
    rules: [{ fault: 'content_filter', params: { keepChars: 5 } }],
    check: (m, f) => {
      expect(f).toBe('content_filter');
      expect((m.content ?? '').length).toBeLessThanOrEqual(5);
    },
  },
  {
    name: 'fault empty_content',
    extra: {},
    rules: [{ fault: 'empty_content' }],
    check: (m, f) => {
      expect(m.content ?? '').toBe('');
      expect(f).toBe('stop');
    },
  },
  {
    name: 'fault truncated_answer',
    extra: {},
    rules: [{ fault: 'truncated_answer', params: { maxChars: 12 } }],
    check: (m, f) => {
      expect((m.content ?? '').length).toBeLessThanOrEqual(12);
      expect(f).toBe('length');
    },
  },
  {
    name: 'fault invalid_json_in_json_mode',
    extra: { response_format: { type: 'json_object' } },
    rules: [{ fault: 'invalid_json_in_json_mode' }],
    check: (m) => {
      expect(m.content).toMatch(/^Sure! Here is the JSON/);
      expect(() => JSON.parse(m.content ?? '')).toThrow();
    },
  },
];

interface Chunk {
  object: string;
  choices: Array<{
    delta: { content?: string | null; tool_calls?: unknown[] };
    finish_reason: string | null;
  }>;
  usage?: unknown;
}

describe('simulated chat completions match CreateChatCompletionResponse', () => {
  it.each(BODY_CASES)('$name', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 21);
    const response = await chaos.handle(post('/v1/chat/completions', openaiBody(extra)));
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      choices: Array<{ message: { content: string | null; tool_calls?: unknown[] }; finish_reason: string }>;
    };
    expectValid('CreateChatCompletionResponse', body, name);
    check(body.choices[0]!.message, body.choices[0]!.finish_reason);
    if (rules) expect(chaos.counters().injected.total).toBe(1);
  });
});

describe('every simulated stream chunk matches CreateChatCompletionStreamResponse', () => {
  it.each(BODY_CASES)('$name (with include_usage)', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 22);
    const response = await chaos.handle(
      post(
        '/v1/chat/completions',
        openaiBody({ ...extra, stream: true, stream_options: { include_usage: true } }),
      ),
    );
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseData(await response.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const [i, chunk] of chunks.entries())
      expectValid('CreateChatCompletionStreamResponse', chunk, `${name} #${i}`);
    // include_usage: every chunk carries `usage: null` except the last, which has choices [] and the totals.
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    // Tool call deltas: one per piece of the arguments; the call itself is identified by its index.
    const toolCalls = [
      ...new Set(
        chunks
          .flatMap((c) => (c.choices[0]?.delta.tool_calls ?? []) as Array<{ index: number }>)
          .map((t) => t.index),
      ),
    ];
    const finish = chunks.map((c) => c.choices[0]?.finish_reason).find((f) => f != null) ?? null;
    check({ content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }, finish);
  });

  it('without include_usage the chunks omit usage entirely and still validate', async () => {
    const chaos = chaosOverSimulator([], 23);
    const response = await chaos.handle(post('/v1/chat/completions', openaiBody({ stream: true })));
    const chunks = sseData(await response.text()).slice(0, -1) as Chunk[];
    for (const [i, chunk] of chunks.entries()) {
      expectValid('CreateChatCompletionStreamResponse', chunk, `chunk ${i}`);
      expect('usage' in chunk).toBe(false);
    }
  });
});

const get = (path: string) =>
  new Request(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${KEY}` } });

describe('/v1/models matches ListModelsResponse and Model', () => {
  it('the list and one model', async () => {
    const chaos = chaosOverSimulator([], 24);
    const list = (await (await chaos.handle(get('/v1/models'))).json()) as { data: Array<{ id: string }> };
    expectValid('ListModelsResponse', list, '/v1/models');
    expect(list.data.map((m) => m.id)).toContain('gpt-4o-mini');
    const one = await (await chaos.handle(get('/v1/models/gpt-4o'))).json();
    expectValid('Model', one, '/v1/models/gpt-4o');
  });
});

describe('every OpenAI error body matches ErrorResponse', () => {
  /** Extra parameter sets worth a body of their own (different wording or fields). */
  const VARIANTS: Partial<Record<string, Array<Record<string, string | number | boolean>>>> = {
    rate_limit: [{}, { limitType: 'tokens', retryAfterMs: 174 }],
    unsupported_parameter: [{}, { param: 'temperature' }],
    http_error: [{}, { status: 418, type: 'teapot_error', message: 'short and stout' }],
  };
  const openaiHttpFaults = FAULT_IDS.filter(
    (id) => FAULTS[id].category === 'http_error' && FAULTS[id].providers.includes('openai'),
  );

  it('covers every HTTP error fault the catalogue has for OpenAI, streamed or not, on every endpoint', async () => {
    const validated = new Set<string>();
    const html = new Set<string>();
    for (const fault of openaiHttpFaults) {
      for (const params of VARIANTS[fault] ?? [{}]) {
        const requests = [
          post('/v1/chat/completions', openaiBody()),
          post('/v1/chat/completions', openaiBody({ stream: true })),
          post('/v1/responses', { model: 'gpt-4o-mini', input: 'Say something.' }),
          post('/v1/responses', { model: 'gpt-4o-mini', input: 'Say something.', stream: true }),
          ...(FAULTS[fault].endpoints === 'any'
            ? [get('/v1/models'), post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' })]
            : []),
        ];
        for (const request of requests) {
          const chaos = chaosOverSimulator([{ fault, params }], 25);
          const response = await chaos.handle(request);
          expect(response.status, fault).toBeGreaterThanOrEqual(400);
          const type = response.headers.get('content-type') ?? '';
          if (type.startsWith('text/html')) {
            // A load balancer's page, not OpenAI's body: there is no JSON to validate (see the report).
            html.add(fault);
            continue;
          }
          expect(type).toBe('application/json');
          const body = await response.json();
          expectValid('ErrorResponse', body, `${fault} ${JSON.stringify(params)} ${request.url}`);
          validated.add(fault);
        }
      }
    }
    expect([...html].sort()).toEqual(['bad_gateway', 'gateway_timeout']);
    expect([...validated].sort()).toEqual(
      openaiHttpFaults.filter((f) => f !== 'bad_gateway' && f !== 'gateway_timeout').sort(),
    );
    expect(validated.size).toBeGreaterThanOrEqual(9);
  });

  it('the error event inside a 200 stream (stream_error_event) is an ErrorResponse too', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_error_event', params: { afterChunks: 2 } }], 26);
    const response = await chaos.handle(post('/v1/chat/completions', openaiBody({ stream: true })));
    const events = sseData(await response.text());
    expect(events).toHaveLength(3);
    for (const chunk of events.slice(0, 2)) expectValid('CreateChatCompletionStreamResponse', chunk, 'chunk');
    expectValid('ErrorResponse', events[2], 'in-stream error');
  });

  it("the simulator's own errors (auth, unknown model, bad params, context, bad JSON) validate", async () => {
    const chaos = chaosOverSimulator([], 27);
    const bad = (body: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) =>
      new Request(`${ORIGIN}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const cases: Array<[string, Request, number, string | null]> = [
      ['no key', bad(JSON.stringify(openaiBody()), {}), 401, null],
      ['unknown model', post('/v1/chat/completions', openaiBody({ model: 'gpt-0' })), 404, 'model_not_found'],
      [
        'max_tokens on a reasoning model',
        post('/v1/chat/completions', openaiBody({ model: 'o3', max_tokens: 10 })),
        400,
        'unsupported_parameter',
      ],
      [
        'temperature on a reasoning model',
        post('/v1/chat/completions', openaiBody({ model: 'o3', temperature: 0.2 })),
        400,
        'unsupported_value',
      ],
      [
        'context overflow',
        post(
          '/v1/chat/completions',
          openaiBody({ model: 'gpt-4o', messages: [{ role: 'user', content: 'word '.repeat(130_000) }] }),
        ),
        400,
        'context_length_exceeded',
      ],
      ['empty messages', post('/v1/chat/completions', openaiBody({ messages: [] })), 400, 'empty_array'],
      ['not JSON', bad('{"model":'), 400, null],
      ['unknown model id', get('/v1/models/gpt-0'), 404, 'model_not_found'],
    ];
    for (const [name, request, status, code] of cases) {
      const response = await chaos.handle(request);
      expect(response.status, name).toBe(status);
      const body = (await response.json()) as { error: { code: string | null } };
      expectValid('ErrorResponse', body, name);
      expect(body.error.code, name).toBe(code);
    }
  });
});

describe('the check is not vacuous: broken bodies are rejected', () => {
  const good = {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_767_225_600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'hi', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
  };
  const chunk = {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_767_225_600,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content: 'hi' }, logprobs: null, finish_reason: null }],
  };

  it('accepts the well-formed baselines', () => {
    expectValid('CreateChatCompletionResponse', good, 'baseline');
    expectValid('CreateChatCompletionStreamResponse', chunk, 'baseline chunk');
  });

  it.each([
    ['missing choices', { ...good, choices: undefined }],
    ['unknown finish_reason', { ...good, choices: [{ ...good.choices[0], finish_reason: 'done' }] }],
    [
      'finish_reason null in a complete response',
      { ...good, choices: [{ ...good.choices[0], finish_reason: null }] },
    ],
    ['created as a string', { ...good, created: '2026-01-01' }],
    ['object of a chunk', { ...good, object: 'chat.completion.chunk' }],
    [
      'message without refusal',
      { ...good, choices: [{ ...good.choices[0], message: { role: 'assistant', content: 'hi' } }] },
    ],
  ])('CreateChatCompletionResponse rejects %s', (_name, body) => {
    expect(official.validate('CreateChatCompletionResponse', JSON.parse(JSON.stringify(body))).valid).toBe(
      false,
    );
  });

  it.each([
    ['usage of the wrong type (nullable still checks the non-null branch)', { ...chunk, usage: 'none' }],
    [
      'finish_reason outside the enum',
      { ...chunk, choices: [{ ...chunk.choices[0], finish_reason: 'eos' }] },
    ],
    ['object of a completion', { ...chunk, object: 'chat.completion' }],
  ])('CreateChatCompletionStreamResponse rejects %s', (_name, body) => {
    expect(official.validate('CreateChatCompletionStreamResponse', body).valid).toBe(false);
  });

  it('ErrorResponse rejects a body without param/code, and an Anthropic-shaped body', () => {
    expect(official.validate('ErrorResponse', { error: { message: 'x', type: 'server_error' } }).valid).toBe(
      false,
    );
    expect(
      official.validate('ErrorResponse', {
        type: 'error',
        error: { type: 'api_error', message: 'Internal server error' },
      }).valid,
    ).toBe(false);
  });

  it('the closed variant rejects a field the spec does not define; the official one allows it', () => {
    const extra = { ...chunk, choices: [{ ...chunk.choices[0], delta: { content: 'hi', reasoning: 'x' } }] };
    expect(official.validate('CreateChatCompletionStreamResponse', extra).valid).toBe(true);
    expect(closed.validate('CreateChatCompletionStreamResponse', extra).valid).toBe(false);
  });
});
