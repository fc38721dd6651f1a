import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { chaosOverSimulator, openaiBody, post, sseData } from '../chaos/helpers.ts';
import { openaiValidators, type Root } from './openai-schema.ts';

/**
 * The Responses API and embeddings as simulated (and as the fault catalogue rewrites them), against
 * the official schemas `Response`, `ResponseStreamEvent`, `CreateEmbeddingResponse` and
 * `ErrorResponse` (openai-schemas.json), open and closed as in openai-schema.test.ts.
 */
const official = openaiValidators();
const closed = openaiValidators({ closed: true });

function expectValid(root: Root, value: unknown, where: string): void {
  expect(official.validate(root, value).errors, `${where} vs ${root}`).toBe('');
  expect(closed.validate(root, value).errors, `${where} vs closed ${root}`).toBe('');
}

const responsesBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4.1-mini',
  input: 'Say something.',
  ...extra,
});

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

interface Output {
  status: string;
  output: Array<{
    type: string;
    content?: Array<{ text: string; logprobs?: unknown[] }>;
    arguments?: string;
    summary?: unknown[];
  }>;
  usage: { output_tokens: number; output_tokens_details: { reasoning_tokens: number } };
  incomplete_details: { reason: string } | null;
}

const text = (r: Output) =>
  r.output
    .filter((o) => o.type === 'message')
    .flatMap((o) => o.content ?? [])
    .map((c) => c.text)
    .join('');

interface Case {
  name: string;
  extra: Record<string, unknown>;
  rules?: FaultRule[];
  check(response: Output): void;
}

const CASES: Case[] = [
  { name: 'plain text', extra: {}, check: (r) => expect(r.status).toBe('completed') },
  {
    name: 'instructions and a message list',
    extra: {
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }],
    },
    check: (r) => expect(text(r).length).toBeGreaterThan(0),
  },
  {
    name: 'structured output (text.format json_schema)',
    extra: {
      text: {
        format: {
          type: 'json_schema',
          name: 'forecast',
          strict: true,
          schema: {
            type: 'object',
            properties: { city: { type: 'string' }, high: { type: 'number' } },
            required: ['city', 'high'],
            additionalProperties: false,
          },
        },
      },
    },
    check: (r) => expect(Object.keys(JSON.parse(text(r))).sort()).toEqual(['city', 'high']),
  },
  {
    name: 'function call',
    extra: { tools: [weather], tool_choice: 'required' },
    check: (r) => {
      const call = r.output.find((o) => o.type === 'function_call')!;
      expect(JSON.parse(call.arguments!)).toHaveProperty('city');
    },
  },
  {
    name: 'max_output_tokens cut (incomplete)',
    extra: { max_output_tokens: 16, input: 'Tell me a long story.' },
    check: (r) => {
      expect(r.status).toBe('incomplete');
      expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    },
  },
  {
    name: 'reasoning model, effort high, summary, encrypted content',
    extra: {
      model: 'o4-mini',
      reasoning: { effort: 'high', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      max_output_tokens: 4000,
    },
    check: (r) => {
      expect(r.output[0]!.type).toBe('reasoning');
      expect(r.output[0]!.summary).toHaveLength(1);
      expect(r.usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
      expect(text(r).length).toBeGreaterThan(0);
    },
  },
  {
    name: 'logprobs',
    extra: { include: ['message.output_text.logprobs'], top_logprobs: 3 },
    check: (r) => expect(r.output[0]!.content![0]!.logprobs!.length).toBeGreaterThan(0),
  },
  {
    name: 'fault content_filter',
    extra: {},
    rules: [{ fault: 'content_filter', params: { keepChars: 5 } }],
    check: (r) => {
      expect(r.status).toBe('incomplete');
      expect(r.incomplete_details).toEqual({ reason: 'content_filter' });
      expect(text(r).length).toBeLessThanOrEqual(5);
    },
  },
  {
    name: 'fault truncated_answer',
    extra: {},
    rules: [{ fault: 'truncated_answer', params: { maxChars: 12 } }],
    check: (r) => {
      expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
      expect(text(r).length).toBeLessThanOrEqual(12);
    },
  },
  {
    name: 'fault empty_content',
    extra: {},
    rules: [{ fault: 'empty_content' }],
    check: (r) => expect(text(r)).toBe(''),
  },
];

describe('simulated /v1/responses bodies match Response', () => {
  it.each(CASES)('$name', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 41);
    const response = await chaos.handle(post('/v1/responses', responsesBody(extra)));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Output;
    expectValid('Response', body, name);
    check(body);
    if (rules) expect(chaos.counters().injected.total).toBe(1);
  });
});

describe('every simulated /v1/responses stream event matches ResponseStreamEvent', () => {
  it.each(CASES)('$name', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 42);
    const response = await chaos.handle(post('/v1/responses', responsesBody({ ...extra, stream: true })));
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseData(await response.text()) as Array<{
      type: string;
      sequence_number: number;
      response?: Output;
      delta?: string;
    }>;
    for (const [i, event] of events.entries()) {
      expectValid('ResponseStreamEvent', event, `${name} #${i} ${event.type}`);
      expect(event.sequence_number).toBe(i);
    }
    expect(events[0]!.type).toBe('response.created');
    const last = events.at(-1)!;
    expect(['response.completed', 'response.incomplete']).toContain(last.type);
    // The deltas add up to the text the final response carries.
    const deltas = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    expect(deltas).toBe(text(last.response!));
    check(last.response!);
  });

  it('an error event mid-stream (stream_error_event) is a ResponseErrorEvent', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_error_event', params: { afterChunks: 3 } }], 43);
    const response = await chaos.handle(post('/v1/responses', responsesBody({ stream: true })));
    const events = sseData(await response.text()) as Array<{ type: string }>;
    for (const event of events) expectValid('ResponseStreamEvent', event, event.type);
    expect(events.at(-1)!.type).toBe('error');
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);
  });
});

describe('simulated /v1/embeddings bodies match CreateEmbeddingResponse', () => {
  it('floats, several inputs, shortened by dimensions, deterministic per input', async () => {
    const chaos = chaosOverSimulator([], 44);
    const ask = async (extra: Record<string, unknown>) => {
      const response = await chaos.handle(
        post('/v1/embeddings', { model: 'text-embedding-3-small', input: ['alpha', 'beta'], ...extra }),
      );
      expect(response.status).toBe(200);
      return (await response.json()) as {
        data: Array<{ embedding: number[] | string }>;
        usage: { prompt_tokens: number };
      };
    };
    const full = await ask({ encoding_format: 'float' });
    expectValid('CreateEmbeddingResponse', full, 'float');
    expect(full.data).toHaveLength(2);
    expect((full.data[0]!.embedding as number[]).length).toBe(1536);
    expect(full.usage.prompt_tokens).toBeGreaterThan(0);
    const short = await ask({ dimensions: 256 });
    expectValid('CreateEmbeddingResponse', short, 'dimensions');
    const vector = short.data[0]!.embedding as number[];
    expect(vector).toHaveLength(256);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    // Same text, later request: same vector; another text: another one.
    const again = await ask({ dimensions: 256 });
    expect(again.data[0]!.embedding).toEqual(vector);
    expect(again.data[1]!.embedding).not.toEqual(vector);
    // base64: the same float32s, little-endian.
    const packed = await ask({ encoding_format: 'base64', dimensions: 256 });
    const bytes = Buffer.from(packed.data[0]!.embedding as string, 'base64');
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, 256)]).toEqual(vector);
  });
});

describe('the 400s of the new endpoints are ErrorResponses', () => {
  it.each([
    ['/v1/responses', responsesBody({ temprature: 0.2 }), 'unknown_parameter'],
    ['/v1/responses', responsesBody({ model: 'text-embedding-3-small' }), null],
    ['/v1/embeddings', { model: 'text-embedding-ada-002', input: 'x', dimensions: 8 }, 'invalid_value'],
    ['/v1/embeddings', { model: 'text-embedding-3-small', input: [] }, 'invalid_value'],
    ['/v1/embeddings', { model: 'gpt-4o', input: 'x' }, 'invalid_model'],
    ['/v1/chat/completions', openaiBody({ foo: 1 }), null],
  ])('%s %j', async (path, body, code) => {
    const response = await chaosOverSimulator([], 45).handle(post(path, body));
    expect(response.status).toBeGreaterThanOrEqual(400);
    const error = (await response.json()) as { error: { code: string | null } };
    expectValid('ErrorResponse', error, path);
    expect(error.error.code).toBe(code);
  });
});
