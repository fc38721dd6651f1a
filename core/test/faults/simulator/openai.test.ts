import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, FAKE_KEY, ORIGIN, simServer } from './helpers.ts';

const sim = simServer();
beforeAll(() => sim.server.listen());
afterAll(() => sim.server.close());

// Built after listen() so the SDK uses MSW's patched fetch.
const client = () => new OpenAI({ apiKey: FAKE_KEY, baseURL: `${ORIGIN}/v1`, maxRetries: 0 });
const user = (content: string) => [{ role: 'user' as const, content }];

describe('OpenAI chat completions (real SDK over MSW)', () => {
  it('returns a complete chat.completion whose usage matches the text', async () => {
    sim.use({ seed: 11 });
    const { data: completion, response } = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: user('Say hello') })
      .withResponse();
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(completion.model).toBe('gpt-4o-mini-2024-07-18');
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content!.length).toBeGreaterThan(0);
    expect(completion.usage!.completion_tokens).toBe(encode(choice.message.content!).length);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('openai-processing-ms')).toMatch(/^\d+$/);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('30000');
    expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBe(29_999);
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?m?s$/);
  });

  it('streams role chunk, content chunks with usage null, a choices:[] usage chunk, then [DONE]', async () => {
    sim.use({ seed: 12 });
    const stream = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('Tell me something'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const body = chunks.slice(0, -1);
    for (const chunk of body) expect(chunk.usage).toBeNull();
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const finish = chunks.at(-2)!.choices[0]!;
    expect(finish.finish_reason).toBe('stop');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(last.usage!.completion_tokens).toBe(encode(text).length);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('omits the usage field entirely without include_usage', async () => {
    sim.use();
    const response = await fetch(`${ORIGIN}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 3 }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const text = await response.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toContain('"usage"');
    expect(text).not.toContain('event:');
  });

  it('finalChatCompletion() assembles the streamed message', async () => {
    sim.use({ seed: 13 });
    const final = await client()
      .chat.completions.stream({
        model: 'gpt-4.1',
        messages: user('hi'),
        stream_options: { include_usage: true },
      })
      .finalChatCompletion();
    expect(final.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(final.usage!.completion_tokens).toBe(encode(final.choices[0]!.message.content!).length);
  });

  it('truncates at max_tokens with finish_reason length, as a prefix of the untruncated text', async () => {
    sim.use({ seed: 14 });
    const full = await client().chat.completions.create({ model: 'gpt-4o', messages: user('essay') });
    sim.use({ seed: 14 });
    const cut = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: user('essay'),
      max_tokens: 7,
    });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(cut.usage!.completion_tokens).toBe(7);
    expect(full.choices[0]!.message.content!.startsWith(cut.choices[0]!.message.content!)).toBe(true);
  });

  it('cuts at a stop sequence with finish_reason stop, excluding the sequence', async () => {
    sim.use({ seed: 15 });
    const full = (await client().chat.completions.create({ model: 'gpt-4o', messages: user('x') }))
      .choices[0]!.message.content!;
    const words = full.split(' ');
    const stop = ` ${words[3]} ${words[4]}`;
    sim.use({ seed: 15 });
    const cut = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: user('x'),
      stop: [stop],
    });
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    expect(cut.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stop)));
  });

  it('JSON mode returns parseable JSON; json_schema follows the schema', async () => {
    sim.use();
    const jsonObject = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('json please'),
      response_format: { type: 'json_object' },
    });
    expect(typeof JSON.parse(jsonObject.choices[0]!.message.content!)).toBe('object');
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temp: { type: 'number' }, unit: { enum: ['c', 'f'] } },
      required: ['city', 'temp', 'unit'],
    };
    const structured = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('weather'),
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema } },
    });
    const value = JSON.parse(structured.choices[0]!.message.content!);
    expect(typeof value.city).toBe('string');
    expect(typeof value.temp).toBe('number');
    expect(['c', 'f']).toContain(value.unit);
  });

  it('tool_choice required yields a tool call with JSON arguments for that tool (JSON and stream)', async () => {
    sim.use();
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: user('weather in Paris?'),
      tools,
      tool_choice: 'required',
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.id).toMatch(/^call_/);
    if (call.type === 'function') expect(typeof JSON.parse(call.function.arguments).city).toBe('string');

    const final = await client()
      .chat.completions.stream({
        model: 'gpt-4o',
        messages: user('weather?'),
        tools,
        tool_choice: 'required',
      })
      .finalChatCompletion();
    const streamed = final.choices[0]!.message.tool_calls![0]!;
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    if (streamed.type === 'function')
      expect(typeof JSON.parse(streamed.function.arguments).city).toBe('string');
  });

  it('a reasoning model rejects max_tokens with the exact 400 body, surfaced as BadRequestError', async () => {
    sim.use();
    const error = await client()
      .chat.completions.create({ model: 'o4-mini', messages: user('hi'), max_tokens: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.error).toEqual({
      message:
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'unsupported_parameter',
    });
    expect(bad.message).toBe(
      "400 Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    );
    expect(bad.requestID).toMatch(/^req_/);
  });

  it('a reasoning model rejects a non-default temperature, accepts max_completion_tokens and reports reasoning tokens', async () => {
    sim.use();
    const error = await client()
      .chat.completions.create({ model: 'gpt-5', messages: user('hi'), temperature: 0.2 })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      param: 'temperature',
      code: 'unsupported_value',
      message:
        "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
    });
    const ok = await client().chat.completions.create({
      model: 'gpt-5',
      messages: user('hi'),
      max_completion_tokens: 2000,
    });
    const usage = ok.usage!;
    const reasoning = usage.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBe(reasoning + encode(ok.choices[0]!.message.content!).length);
  });

  it('context overflow gives 400 context_length_exceeded', async () => {
    sim.use();
    const huge = 'lorem ipsum '.repeat(70_000);
    const error = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: user(huge) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as Record<string, unknown>;
    expect(body.code).toBe('context_length_exceeded');
    expect(body.param).toBe('messages');
    expect(body.message).toMatch(
      /^This model's maximum context length is 128000 tokens\. However, your messages resulted in \d+ tokens\. Please reduce the length of the messages\.$/,
    );
  });

  it('unknown model → 404 model_not_found (NotFoundError); missing key → 401', async () => {
    sim.use();
    const notFound = await client()
      .chat.completions.create({ model: 'gpt-9000', messages: user('hi') })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect((notFound as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      message: 'The model `gpt-9000` does not exist or you do not have access to it.',
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    });
    const unauthorised = await fetch(`${ORIGIN}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: user('hi') }),
    });
    expect(unauthorised.status).toBe(401);
    const body = (await unauthorised.json()) as { error: Record<string, unknown> };
    expect(body.error.message).toMatch(/^You didn't provide an API key\./);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
  });

  it('models.list() lists the catalogue with aliases and snapshots', async () => {
    sim.use();
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(ids).toContain('gpt-4o-mini-2024-07-18');
    expect(ids).not.toContain('claude-haiku-4-5');
    const one = await client().models.retrieve('o3');
    expect(one).toMatchObject({ id: 'o3', object: 'model', owned_by: 'system' });
  });
});
