import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chaos } from '../../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { withChaos } from '../../../src/faults/delivery/msw.ts';
import { startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { OLLAMA_VERSION, ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { openaiValidators } from './openai-schema.ts';

/**
 * The same SDK calls and the same assertions over both deliveries: MSW in-process (`withChaos`, the
 * official origins intercepted) and the chaos proxy on a loopback socket (`startChaosProxy`, simulate
 * mode). Both run the simulator with the same seed and receive the same request sequence, so they
 * must also produce the same texts (checked at the end).
 */

const KEY = 'sk-test-not-a-real-key';
const SEED = 31;
const fast = { latency: { '*': ZERO_LATENCY } };
const schemas = openaiValidators();

// Marker rules: a zero-delay latency fault whose only effect is to count which auth header the
// server side received (counters.injected.byRule), in either delivery.
const MARKERS: FaultRule[] = [
  {
    id: 'saw-bearer',
    fault: 'latency',
    params: { delayMs: 0 },
    target: { provider: 'anthropic', match: { headers: { authorization: `Bearer ${KEY}` } } },
  },
  {
    id: 'saw-x-api-key',
    fault: 'latency',
    params: { delayMs: 0 },
    target: { provider: 'anthropic', match: { headers: { 'x-api-key': KEY } } },
  },
];

interface Running {
  bases: { openai: string; anthropic: string; ollama: string };
  chaos: Chaos;
  close(): Promise<void>;
}

interface Delivery {
  name: 'msw' | 'proxy';
  start(): Promise<Running>;
}

const DELIVERIES: Delivery[] = [
  {
    name: 'msw',
    async start() {
      const env = withChaos({ seed: SEED, simulator: fast, rules: MARKERS });
      return {
        bases: {
          openai: 'https://api.openai.com/v1',
          anthropic: 'https://api.anthropic.com',
          ollama: 'http://127.0.0.1:11434',
        },
        chaos: env.chaos,
        close: async () => env.close(),
      };
    },
  },
  {
    name: 'proxy',
    async start() {
      const proxy = await startChaosProxy({ seed: SEED, mode: 'simulate', simulator: fast, rules: MARKERS });
      return {
        bases: { openai: `${proxy.url}/v1`, anthropic: proxy.url, ollama: proxy.url },
        chaos: proxy.chaos,
        close: () => proxy.close(),
      };
    },
  },
];

/** Texts each delivery produced, in request order: the two must agree. */
const transcripts: Record<string, string[]> = {};

// Always the current (possibly MSW-patched) fetch.
const lazyFetch: typeof fetch = (input, init) => globalThis.fetch(input, init);
const user = (content: string) => [{ role: 'user' as const, content }];
const chat = { model: 'gpt-4o-mini', messages: user('Hello') };
const message = { model: 'claude-haiku-4-5', max_tokens: 300, messages: user('Hello') };

describe.each(DELIVERIES)('real SDKs over $name delivery', ({ name, start }) => {
  let running: Running;
  let said: string[];
  let openai: OpenAI;
  let anthropicBearer: Anthropic;
  let anthropicXApiKey: Anthropic;
  let ollama: Ollama;

  beforeAll(async () => {
    running = await start();
    said = [];
    transcripts[name] = said;
    // Built after interception starts; fetch resolved at call time anyway.
    openai = new OpenAI({ apiKey: KEY, baseURL: running.bases.openai, maxRetries: 0, fetch: lazyFetch });
    anthropicBearer = new Anthropic({
      apiKey: KEY,
      baseURL: running.bases.anthropic,
      maxRetries: 0,
      fetch: lazyFetch,
    });
    // SDK 0.x style: x-api-key instead of 1.x's bearer token.
    anthropicXApiKey = new Anthropic({
      apiKey: KEY,
      baseURL: running.bases.anthropic,
      maxRetries: 0,
      fetch: lazyFetch,
      defaultHeaders: { authorization: null, 'x-api-key': KEY },
    });
    ollama = new Ollama({ host: running.bases.ollama, fetch: lazyFetch });
  });
  afterAll(() => running.close());

  const anthropicClients = () =>
    [
      ['bearer', anthropicBearer, 'saw-bearer'],
      ['x-api-key', anthropicXApiKey, 'saw-x-api-key'],
    ] as const;
  const markers = () => running.chaos.counters().injected.byRule;

  it('openai chat.completions.create (JSON)', async () => {
    const { data, response } = await openai.chat.completions.create(chat).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-4o-mini-2024-07-18');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    const text = data.choices[0]?.message.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('30000');
    expect(schemas.validate('CreateChatCompletionResponse', JSON.parse(JSON.stringify(data))).errors).toBe(
      '',
    );
    said.push(text);
  });

  it('openai chat.completions.create (stream, include_usage)', async () => {
    const stream = await openai.chat.completions.create({
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usageChunks = 0;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) {
        usageChunks++;
        expect(chunk.choices).toEqual([]);
      }
    }
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(usageChunks).toBe(1);
    expect(text.length).toBeGreaterThan(0);
    said.push(text);
  });

  it('openai chat.completions.stream(...).finalChatCompletion() (text and a tool call)', async () => {
    const runner = openai.chat.completions.stream({ ...chat, stream_options: { include_usage: true } });
    let streamed = '';
    runner.on('content', (delta) => {
      streamed += delta;
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(streamed);
    expect(final.choices[0]?.finish_reason).toBe('stop');
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    said.push(streamed);

    const withTool = await openai.chat.completions
      .stream({
        ...chat,
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          },
        ],
        tool_choice: 'required',
      })
      .finalChatCompletion();
    const call = withTool.choices[0]?.message.tool_calls?.[0];
    expect(withTool.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toMatchObject({
      city: expect.any(String),
    });
    said.push(call?.type === 'function' ? call.function.arguments : '');
  });

  it('openai models.list()', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'o3']));
    expect(ids.some((id) => id.startsWith('claude'))).toBe(false);
  });

  it('anthropic messages.create (JSON), both auth styles reach the server', async () => {
    for (const [style, client, marker] of anthropicClients()) {
      const before = markers()[marker] ?? 0;
      const { data, response } = await client.messages.create(message).withResponse();
      expect(markers()[marker], style).toBe(before + 1);
      expect(data.type).toBe('message');
      expect(data.model).toBe('claude-haiku-4-5-20251001');
      expect(data.stop_reason).toBe('end_turn');
      expect(data.content[0]?.type).toBe('text');
      expect(data.usage.output_tokens).toBeGreaterThan(0);
      expect(response.headers.get('request-id')).toMatch(/^req_011C[A-Za-z0-9]{20}$/);
      said.push(data.content[0]?.type === 'text' ? data.content[0].text : '');
    }
  });

  it('anthropic messages.create (stream): the named events in order', async () => {
    for (const [style, client, marker] of anthropicClients()) {
      const before = markers()[marker] ?? 0;
      const stream = await client.messages.create({ ...message, stream: true });
      const types: string[] = [];
      let text = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          text += event.delta.text;
      }
      expect(markers()[marker], style).toBe(before + 1);
      // The SDK drops `ping` events; everything else arrives in protocol order.
      expect(types.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
      expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
      expect(types.filter((t) => t === 'content_block_delta').length).toBe(types.length - 5);
      said.push(text);
    }
  });

  it('anthropic messages.stream(...).finalMessage(), both auth styles', async () => {
    for (const [style, client, marker] of anthropicClients()) {
      const before = markers()[marker] ?? 0;
      const stream = client.messages.stream(message);
      let streamed = '';
      stream.on('text', (delta) => {
        streamed += delta;
      });
      const final = await stream.finalMessage();
      expect(markers()[marker], style).toBe(before + 1);
      expect(final.stop_reason).toBe('end_turn');
      expect(final.content[0]?.type === 'text' && final.content[0].text).toBe(streamed);
      expect(final.usage.output_tokens).toBeGreaterThan(0);
      said.push(streamed);
    }
  });

  it('ollama chat (JSON and stream)', async () => {
    const reply = await ollama.chat({ model: 'llama3.2', messages: user('Hello'), stream: false });
    expect(reply.done).toBe(true);
    expect(reply.done_reason).toBe('stop');
    expect(reply.message.role).toBe('assistant');
    expect(reply.eval_count).toBeGreaterThan(0);
    said.push(reply.message.content);

    const parts = await ollama.chat({ model: 'llama3.2', messages: user('Hello'), stream: true });
    let text = '';
    let done = 0;
    for await (const part of parts) {
      text += part.message.content;
      if (part.done) {
        done++;
        expect(part.eval_count).toBeGreaterThan(0);
        expect(part.total_duration).toBeGreaterThan(0);
      }
    }
    expect(done).toBe(1);
    expect(text.length).toBeGreaterThan(0);
    said.push(text);
  });

  it('ollama generate, list and version', async () => {
    const generated = await ollama.generate({ model: 'llama3.2', prompt: 'Hello', stream: false });
    expect(generated.done).toBe(true);
    expect(generated.response?.length).toBeGreaterThan(0);
    expect(generated.context?.length).toBeGreaterThan(0);
    said.push(generated.response ?? '');

    const list = await ollama.list();
    expect(list.models.map((m) => m.name)).toEqual(
      expect.arrayContaining(['llama3.2:latest', 'qwen2.5:7b', 'gpt-oss:20b']),
    );
    const llama = list.models.find((m) => m.name === 'llama3.2:latest');
    expect(llama?.details).toMatchObject({
      family: 'llama',
      parameter_size: '3.2B',
      quantization_level: 'Q4_K_M',
    });
    expect(await ollama.version()).toEqual({ version: OLLAMA_VERSION });
  });

  it('an injected fault reaches each SDK the same way through this delivery', async () => {
    running.chaos.setRules([{ fault: 'rate_limit', params: { retryAfterMs: 1500 } }]);
    try {
      const openaiError = await openai.chat.completions.create(chat).catch((e: unknown) => e);
      expect(openaiError).toBeInstanceOf(OpenAI.RateLimitError);
      expect((openaiError as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after-ms')).toBe(
        '1500',
      );
      const anthropicError = await anthropicBearer.messages.create(message).catch((e: unknown) => e);
      expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
      const ollamaError = await ollama
        .chat({ model: 'llama3.2', messages: user('Hello'), stream: false })
        .catch((e: unknown) => e);
      expect(ollamaError).toMatchObject({ name: 'ResponseError', status_code: 429 });
      expect(running.chaos.counters().injected.byFault.rate_limit).toBe(3);
    } finally {
      running.chaos.setRules(MARKERS);
    }
  });
});

describe('both deliveries agree', () => {
  it('the same seed and request sequence gave the same texts in-process and over the socket', () => {
    expect(transcripts.msw?.length).toBe(13);
    expect(transcripts.proxy).toEqual(transcripts.msw);
    expect(new Set(transcripts.msw).size).toBe(13);
  });
});
