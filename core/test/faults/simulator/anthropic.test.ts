import Anthropic from '@anthropic-ai/sdk';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, FAKE_KEY, ORIGIN, simServer } from './helpers.ts';

const sim = simServer();
beforeAll(() => sim.server.listen());
afterAll(() => sim.server.close());

const MODEL = 'claude-haiku-4-5';
// SDK 1.x sends `authorization: Bearer`; the x-api-key client replaces it with 0.x's header.
const bearerClient = () => new Anthropic({ apiKey: FAKE_KEY, baseURL: ORIGIN, maxRetries: 0 });
const xApiKeyClient = () =>
  new Anthropic({
    apiKey: FAKE_KEY,
    baseURL: ORIGIN,
    maxRetries: 0,
    defaultHeaders: { authorization: null, 'x-api-key': FAKE_KEY },
  });
const user = (content: string) => [{ role: 'user' as const, content }];

describe('Anthropic messages (real SDK over MSW)', () => {
  it.each([
    ['bearer', bearerClient],
    ['x-api-key', xApiKeyClient],
  ])('messages.create returns a message with consistent usage (%s auth)', async (name, make) => {
    sim.use({ seed: 21 });
    const { data: message, response } = await make()
      .messages.create({ model: MODEL, max_tokens: 1024, messages: user('Hello') })
      .withResponse();
    expect(message.id).toMatch(/^msg_01[A-Za-z0-9]{22}$/);
    expect(message.type).toBe('message');
    expect(message.model).toBe('claude-haiku-4-5-20251001');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.stop_sequence).toBeNull();
    const block = message.content[0]!;
    expect(block.type).toBe('text');
    if (block.type === 'text') expect(message.usage.output_tokens).toBe(encode(block.text).length);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('request-id')).toMatch(/^req_011C[A-Za-z0-9]{20}$/);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('4000');
    expect(response.headers.get('anthropic-ratelimit-tokens-reset')).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    const sent = sim.seen.at(-1)!;
    if (name === 'bearer') expect(sent.get('authorization')).toBe(`Bearer ${FAKE_KEY}`);
    else expect([sent.get('x-api-key'), sent.get('authorization')]).toEqual([FAKE_KEY, null]);
  });

  it('streams the full named-event sequence with cumulative output_tokens', async () => {
    sim.use({ seed: 22 });
    const stream = await bearerClient().messages.create({
      model: MODEL,
      max_tokens: 1024,
      messages: user('Tell me'),
      stream: true,
    });
    const events = await collect(stream);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
    let text = '';
    for (const event of events) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    const delta = events.find((e) => e.type === 'message_delta')!;
    if (delta.type === 'message_delta') {
      expect(delta.delta.stop_reason).toBe('end_turn');
      expect(delta.usage.output_tokens).toBe(encode(text).length);
    }
  });

  it('the raw stream has a ping after content_block_start and SSE content type', async () => {
    sim.use();
    const response = await fetch(`${ORIGIN}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': FAKE_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: user('hi'), stream: true }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const names = [...(await response.text()).matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.at(-1)).toBe('message_stop');
  });

  it('messages.stream().finalMessage() works with both auth styles', async () => {
    for (const make of [bearerClient, xApiKeyClient]) {
      sim.use({ seed: 23 });
      const final = await make()
        .messages.stream({ model: MODEL, max_tokens: 512, messages: user('hi') })
        .finalMessage();
      const block = final.content[0]!;
      expect(block.type).toBe('text');
      if (block.type === 'text') expect(final.usage.output_tokens).toBe(encode(block.text).length);
    }
  });

  it('max_tokens truncation gives stop_reason max_tokens; a stop sequence gives stop_sequence', async () => {
    sim.use({ seed: 24 });
    const full = await bearerClient().messages.create({
      model: MODEL,
      max_tokens: 4096,
      messages: user('x'),
    });
    const fullText = full.content[0]!.type === 'text' ? full.content[0]!.text : '';
    sim.use({ seed: 24 });
    const cut = await bearerClient().messages.create({ model: MODEL, max_tokens: 6, messages: user('x') });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(6);
    const stop = fullText.split(' ')[5]!;
    sim.use({ seed: 24 });
    const stopped = await bearerClient().messages.create({
      model: MODEL,
      max_tokens: 4096,
      messages: user('x'),
      stop_sequences: [stop],
    });
    expect(stopped.stop_reason).toBe('stop_sequence');
    expect(stopped.stop_sequence).toBe(stop);
    expect(stopped.content[0]!.type === 'text' && stopped.content[0]!.text).toBe(
      fullText.slice(0, fullText.indexOf(stop)),
    );
  });

  it('tool_choice any yields a tool_use block with input for that tool (JSON and stream)', async () => {
    sim.use();
    const tools = [
      {
        name: 'lookup_city',
        input_schema: {
          type: 'object' as const,
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    ];
    const message = await bearerClient().messages.create({
      model: MODEL,
      max_tokens: 512,
      messages: user('where?'),
      tools,
      tool_choice: { type: 'any' },
    });
    expect(message.stop_reason).toBe('tool_use');
    const block = message.content[0]!;
    expect(block.type).toBe('tool_use');
    if (block.type === 'tool_use') {
      expect(block.name).toBe('lookup_city');
      expect(block.id).toMatch(/^toolu_01/);
      expect(typeof (block.input as { city: unknown }).city).toBe('string');
    }
    const final = await bearerClient()
      .messages.stream({
        model: MODEL,
        max_tokens: 512,
        messages: user('where?'),
        tools,
        tool_choice: { type: 'any' },
      })
      .finalMessage();
    const streamed = final.content[0]!;
    expect(final.stop_reason).toBe('tool_use');
    if (streamed.type === 'tool_use')
      expect(typeof (streamed.input as { city: unknown }).city).toBe('string');
  });

  it('missing max_tokens → 400 invalid_request_error "max_tokens: Field required"', async () => {
    sim.use();
    const response = await fetch(`${ORIGIN}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': FAKE_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: MODEL, messages: user('hi') }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
      request_id: response.headers.get('request-id'),
    });
  });

  it('prompt too long → 400 "prompt is too long: N tokens > 200000 maximum" (BadRequestError)', async () => {
    sim.use();
    const error = await bearerClient()
      .messages.create({ model: MODEL, max_tokens: 10, messages: user('lorem ipsum '.repeat(110_000)) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (error as InstanceType<typeof Anthropic.BadRequestError>).error as {
      error: { type: string; message: string };
    };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/^prompt is too long: \d+ tokens > 200000 maximum$/);
  });

  it('unknown model → 404 not_found_error; no credentials → 401 authentication_error', async () => {
    sim.use();
    const notFound = await bearerClient()
      .messages.create({ model: 'claude-nope', max_tokens: 10, messages: user('hi') })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(Anthropic.NotFoundError);
    expect((notFound as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: 'model: claude-nope' },
    });
    const anonymous = new Anthropic({
      apiKey: FAKE_KEY,
      baseURL: ORIGIN,
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    const unauthorised = await anonymous.messages
      .create({ model: MODEL, max_tokens: 10, messages: user('hi') })
      .catch((e: unknown) => e);
    expect(unauthorised).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unauthorised as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    });
  });

  it('models.list() answers GET /v1/models in Anthropic shape (told apart by anthropic-version)', async () => {
    sim.use();
    const ids: string[] = [];
    for await (const model of bearerClient().models.list()) ids.push(model.id);
    expect(ids).toContain('claude-haiku-4-5-20251001');
    expect(ids).not.toContain('gpt-4o');
  });
});
