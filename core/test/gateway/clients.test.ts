import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import Anthropic from '@anthropic-ai/sdk';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * Real clients over a real socket: the official openai and @anthropic-ai/sdk clients, and a client
 * this project does not own (the AI SDK's OpenAI-compatible provider), each streamed and not.
 */
let t: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  t = await startTestGateway();
  openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused-no-keys-configured', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: t.url, apiKey: 'unused-no-keys-configured', maxRetries: 0 });
});
afterAll(() => t.close());

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('the official openai client', () => {
  it('gets a completion with usage and the x-switchyard headers', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 40 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get('x-switchyard-served-by')).toBe('primary');
    expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    expect(response.headers.get('x-switchyard-fallbacks')).toBe('0');
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-cache')).toBe('off');
    expect(response.headers.get('x-switchyard-request-id')).toMatch(/^[\w-]{8,}$/);
  });

  it('streams text, then the finish reason, then a usage chunk when asked', async () => {
    const stream = await openai.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Tell me a story.' }],
      max_tokens: 60,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toMatch(/^(stop|length)$/);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('passes tools through and returns the tool call, streamed and not', async () => {
    const request = {
      model: 'chat',
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      tools: [weather],
      tool_choice: 'required' as const,
    };
    const answer = await openai.chat.completions.create(request);
    const call = answer.choices[0]!.message.tool_calls![0]!;
    expect(answer.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toHaveProperty('city');

    const stream = openai.chat.completions.stream({ ...request, stream: true });
    const final = await stream.finalChatCompletion();
    const streamed = final.choices[0]!.message.tool_calls![0]!;
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(streamed.type === 'function' && streamed.function.name).toBe('get_weather');
  });

  it('answers JSON mode with a JSON object, streamed and not', async () => {
    const request = {
      model: 'chat',
      messages: [{ role: 'user' as const, content: 'A user record as JSON.' }],
      response_format: { type: 'json_object' as const },
    };
    const answer = await openai.chat.completions.create(request);
    expect(typeof JSON.parse(answer.choices[0]!.message.content!)).toBe('object');
    let text = '';
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(typeof JSON.parse(text)).toBe('object');
  });

  it('lists routes and deployments as models', async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(['chat', 'primary', 'backup']);
  });

  it('addresses a deployment directly by its id', async () => {
    const { response } = await openai.chat.completions
      .create({ model: 'backup', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 })
      .withResponse();
    expect(response.headers.get('x-switchyard-served-by')).toBe('backup');
  });
});

describe('the official @anthropic-ai/sdk client', () => {
  it('gets a message through the same router', async () => {
    const { data, response } = await anthropic.messages
      .create({
        model: 'chat',
        max_tokens: 40,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Say hello.' }],
      })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.content[0]!.type).toBe('text');
    expect(data.stop_reason).toMatch(/^(end_turn|max_tokens)$/);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-served-by')).toBe('primary');
  });

  it('streams a message: the SDK assembles the same shape from the events', async () => {
    const stream = anthropic.messages.stream({
      model: 'chat',
      max_tokens: 60,
      messages: [{ role: 'user', content: 'Tell me a story.' }],
    });
    let deltas = 0;
    stream.on('text', () => deltas++);
    const message = await stream.finalMessage();
    expect(deltas).toBeGreaterThan(3);
    expect(message.content[0]!.type === 'text' && message.content[0]!.text.length).toBeGreaterThan(0);
    expect(message.stop_reason).toMatch(/^(end_turn|max_tokens)$/);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('passes tools and tool results, streamed and not', async () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather in a city',
        input_schema: {
          type: 'object' as const,
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    ];
    const request = {
      model: 'backup',
      max_tokens: 100,
      tools,
      tool_choice: { type: 'any' as const },
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
    };
    const answer = await anthropic.messages.create(request);
    const use = answer.content.find((b) => b.type === 'tool_use');
    expect(answer.stop_reason).toBe('tool_use');
    expect(use && use.type === 'tool_use' && use.name).toBe('get_weather');
    const streamed = await anthropic.messages.stream(request).finalMessage();
    const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
    expect(streamedUse && streamedUse.type === 'tool_use' && streamedUse.input).toHaveProperty('city');

    // The result goes back as a tool_result block and the conversation continues.
    const followUp = await anthropic.messages.create({
      model: 'backup',
      max_tokens: 40,
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: answer.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'Sunny, 21°C' }] },
      ],
    });
    expect(followUp.content[0]!.type).toBe('text');
  });
});

describe('a client this project does not own: the AI SDK OpenAI-compatible provider', () => {
  const provider = () =>
    createOpenAICompatible({
      name: 'switchyard',
      baseURL: `${t.url}/v1`,
      apiKey: 'unused',
      includeUsage: true,
    });

  it('generateText', async () => {
    const result = await generateText({
      model: provider().chatModel('chat'),
      prompt: 'Say hello.',
      maxRetries: 0,
    });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.response.headers?.['x-switchyard-served-by']).toBe('primary');
  });

  it('streamText, with usage from the last chunk', async () => {
    const result = streamText({
      model: provider().chatModel('chat'),
      prompt: 'Tell me a story.',
      maxRetries: 0,
    });
    let parts = 0;
    for await (const _ of result.textStream) parts++;
    expect(parts).toBeGreaterThan(3);
    expect((await result.text).length).toBeGreaterThan(0);
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
  });

  it('a tool call, streamed', async () => {
    const result = streamText({
      model: provider().chatModel('chat'),
      prompt: 'Weather in Paris?',
      tools: {
        get_weather: tool({
          description: 'Weather in a city',
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        }),
      },
      toolChoice: 'required',
      maxRetries: 0,
    });
    const calls = await result.toolCalls;
    expect(calls[0]?.toolName).toBe('get_weather');
  });
});

describe('every request is logged once, as one JSON line', () => {
  it('holds the decision path and no key', async () => {
    const before = t.logs.length;
    await openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
    await eventually(() => t.logs.length > before);
    const line = t.logs.at(-1)!;
    expect(line).toMatchObject({ msg: 'request', path: '/v1/chat/completions', status: 200, route: 'chat' });
    expect(line.decision).toMatch(/^primary ✓/);
    expect(JSON.stringify(t.logs)).not.toContain('sk-test-not-a-real-key');
    expect(JSON.stringify(t.logs)).not.toContain('unused-no-keys-configured');
    expect(line).not.toHaveProperty('prompt');
  });
});
