import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { FAULT_IDS, FAULTS } from '../../../src/faults/chaos/catalogue.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { anthropicBody, chaosOverSimulator, KEY, ORIGIN, post, sseData } from '../chaos/helpers.ts';
import { type AnthropicRoot, anthropicValidators } from './anthropic-schema.ts';
import { installedSdkVersion } from './generate-anthropic-schemas.ts';

/**
 * Every Anthropic body and stream event the simulator and the fault catalogue produce, validated
 * against the official SDK's published types (as JSON Schema: anthropic-schemas.json), open and
 * closed (no field the types do not declare).
 */
const official = anthropicValidators();
const closed = anthropicValidators({ closed: true });

function expectValid(root: AnthropicRoot, value: unknown, where: string): void {
  expect(official.validate(root, value).errors, `${where} vs ${root}`).toBe('');
  expect(closed.validate(root, value).errors, `${where} vs closed ${root}`).toBe('');
}

/** `ping` is documented by the API and skipped by the SDK, so its types do not list it. */
function expectValidEvent(event: { type: string }, where: string): void {
  if (event.type === 'ping') expect(event).toEqual({ type: 'ping' });
  else expectValid('RawMessageStreamEvent', event, where);
}

const forecast = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    high: { type: 'number' },
    days: { type: 'array', items: { type: 'string', enum: ['mon', 'tue'] }, minItems: 1 },
  },
  required: ['city', 'high', 'days'],
  additionalProperties: false,
};

interface Block {
  type: string;
  text?: string;
  thinking?: string;
  signature?: string;
  input?: unknown;
}

interface Case {
  name: string;
  extra: Record<string, unknown>;
  rules?: FaultRule[];
  check(content: Block[], stopReason: string): void;
}

const answer = (content: Block[]) =>
  content
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('');
const matchesForecast = (content: Block[]) => {
  const validate = new Ajv().compile(forecast);
  expect(validate(JSON.parse(answer(content))), JSON.stringify(validate.errors)).toBe(true);
};

const CASES: Case[] = [
  { name: 'plain text', extra: {}, check: (_c, stop) => expect(stop).toBe('end_turn') },
  {
    name: 'tool use',
    extra: {
      tools: [
        { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
    },
    check: (c, stop) => {
      expect(stop).toBe('tool_use');
      expect(c[0]!.input).toHaveProperty('city');
    },
  },
  {
    name: 'structured output (output_config.format)',
    extra: { output_config: { format: { type: 'json_schema', schema: forecast } } },
    check: matchesForecast,
  },
  {
    name: 'structured output (beta output_format)',
    extra: { output_format: { type: 'json_schema', schema: forecast } },
    check: matchesForecast,
  },
  {
    name: 'extended thinking (enabled, budget)',
    extra: { max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 } },
    check: (c) => {
      expect(c.map((b) => b.type)).toEqual(['thinking', 'text']);
      expect(c[0]!.thinking!.length).toBeGreaterThan(0);
      expect(c[0]!.signature!.length).toBeGreaterThan(100);
    },
  },
  {
    name: 'adaptive thinking',
    extra: { model: 'claude-sonnet-4-6', max_tokens: 4000, thinking: { type: 'adaptive' } },
    check: (c) => expect(c[0]!.type).toBe('thinking'),
  },
  {
    name: 'fault content_filter (refusal)',
    extra: {},
    rules: [{ fault: 'content_filter', params: { keepChars: 4 } }],
    check: (c, stop) => {
      expect(stop).toBe('refusal');
      expect(answer(c).length).toBeLessThanOrEqual(4);
    },
  },
  {
    name: 'fault truncated_answer',
    extra: {},
    rules: [{ fault: 'truncated_answer' }],
    check: (_c, stop) => expect(stop).toBe('max_tokens'),
  },
];

describe('the schemas are the installed SDK’s', () => {
  it('anthropic-schemas.json was generated from the installed @anthropic-ai/sdk', () => {
    expect(official.sdkVersion).toBe(installedSdkVersion());
  });
});

describe('simulated messages match the SDK type Message', () => {
  it.each(CASES)('$name', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 51);
    const response = await chaos.handle(post('/v1/messages', anthropicBody(extra)));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { content: Block[]; stop_reason: string };
    expectValid('Message', body, name);
    check(body.content, body.stop_reason);
  });
});

describe('every simulated stream event matches the SDK type RawMessageStreamEvent', () => {
  it.each(CASES)('$name', async ({ name, extra, rules, check }) => {
    const chaos = chaosOverSimulator(rules ?? [], 52);
    const response = await chaos.handle(post('/v1/messages', anthropicBody({ ...extra, stream: true })));
    const events = sseData(await response.text()) as Array<Record<string, unknown> & { type: string }>;
    for (const [i, event] of events.entries()) expectValidEvent(event, `${name} #${i} ${event.type}`);
    // Rebuild the content blocks from the events, as the SDK does.
    const blocks: Block[] = [];
    let stop = '';
    for (const event of events) {
      if (event.type === 'content_block_start') blocks.push({ ...(event.content_block as Block) });
      if (event.type === 'content_block_delta') {
        const block = blocks[event.index as number]!;
        const delta = event.delta as Record<string, string>;
        if (delta.type === 'text_delta') block.text = (block.text ?? '') + delta.text;
        if (delta.type === 'thinking_delta') block.thinking = (block.thinking ?? '') + delta.thinking;
        if (delta.type === 'signature_delta') block.signature = delta.signature;
        if (delta.type === 'input_json_delta')
          block.input = `${typeof block.input === 'string' ? block.input : ''}${delta.partial_json}`;
      }
      if (event.type === 'message_delta') stop = (event.delta as { stop_reason: string }).stop_reason;
    }
    for (const block of blocks) if (typeof block.input === 'string') block.input = JSON.parse(block.input);
    check(blocks, stop);
  });
});

const get = (path: string) =>
  new Request(`${ORIGIN}${path}`, { headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } });

describe('other Anthropic bodies', () => {
  it('count_tokens is a MessageTokensCount, a model a ModelInfo', async () => {
    const chaos = chaosOverSimulator([], 53);
    const count = await (
      await chaos.handle(
        post('/v1/messages/count_tokens', {
          model: 'claude-haiku-4-5',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      )
    ).json();
    expectValid('MessageTokensCount', count, 'count_tokens');
    const list = (await (await chaos.handle(get('/v1/models'))).json()) as { data: unknown[] };
    for (const model of list.data) expectValid('ModelInfo', model, 'model');
  });

  it('every error body (simulator and HTTP faults) is an ErrorResponse', async () => {
    const requests: Array<[string, Request]> = [
      ['unknown parameter', post('/v1/messages', anthropicBody({ frequency_penalty: 1 }))],
      ['no max_tokens', post('/v1/messages', { model: 'claude-haiku-4-5', messages: [] })],
      [
        'thinking budget too small',
        post('/v1/messages', anthropicBody({ thinking: { type: 'enabled', budget_tokens: 100 } })),
      ],
      [
        'budget above max_tokens',
        post(
          '/v1/messages',
          anthropicBody({ max_tokens: 1500, thinking: { type: 'enabled', budget_tokens: 2000 } }),
        ),
      ],
      ['unknown model', post('/v1/messages', anthropicBody({ model: 'claude-0' }))],
    ];
    for (const [name, request] of requests) {
      const response = await chaosOverSimulator([], 54).handle(request);
      expect(response.status, name).toBeGreaterThanOrEqual(400);
      expectValid('ErrorResponse', await response.json(), name);
    }
    const faults = FAULT_IDS.filter(
      (id) => FAULTS[id].category === 'http_error' && FAULTS[id].providers.includes('anthropic'),
    );
    let checked = 0;
    for (const fault of faults) {
      const response = await chaosOverSimulator([{ fault }], 55).handle(
        post('/v1/messages', anthropicBody()),
      );
      if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) continue;
      expectValid('ErrorResponse', await response.json(), fault);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('the in-stream error event (stream_error_event) is an SDK ErrorResponse', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_error_event', params: { afterChunks: 3 } }], 56);
    const events = sseData(
      await (await chaos.handle(post('/v1/messages', anthropicBody({ stream: true })))).text(),
    ) as Array<{ type: string }>;
    const error = events.at(-1)!;
    expect(error.type).toBe('error');
    // The event has no request_id; the SDK reads it as an ErrorResponse's `error` part.
    expectValid('ErrorResponse', { ...error, request_id: null }, 'stream error');
  });
});

describe('the check is not vacuous', () => {
  const good = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5',
    container: null,
    diagnostics: null,
    content: [{ type: 'text', text: 'hi', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    stop_details: null,
    usage: {
      input_tokens: 1,
      output_tokens: 1,
      cache_creation: null,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      inference_geo: null,
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: null,
      speed: null,
    },
  };
  it('accepts the baseline, rejects broken variants', () => {
    expectValid('Message', good, 'baseline');
    expect(official.validate('Message', { ...good, stop_reason: 'done' }).valid).toBe(false);
    expect(
      official.validate('Message', { ...good, content: [{ type: 'thinking', thinking: 'x' }] }).valid,
    ).toBe(false);
    expect(
      official.validate('Message', { ...good, usage: { ...good.usage, output_tokens: '1' } }).valid,
    ).toBe(false);
    expect(official.validate('Message', { ...good, container: undefined }).valid).toBe(false);
    expect(official.validate('Message', { ...good, extra: 1 }).valid).toBe(true);
    expect(closed.validate('Message', { ...good, extra: 1 }).valid).toBe(false);
  });
});
