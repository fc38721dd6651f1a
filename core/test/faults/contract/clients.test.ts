import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { ChatAnthropic } from '@langchain/anthropic';
import { ChatOpenAI } from '@langchain/openai';
import { embed, embedMany, generateText, Output, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Chaos, createChaos } from '../../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { chaosFetch } from '../../../src/faults/delivery/fetch.ts';
import { createSimulator, ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { RealClock } from '../../../src/runtime/clock.ts';

/**
 * Issue 16's proof: the clients a new user tries first, unmodified, against the simulator. In
 * process (the simulator behind the chaos handler, handed to each client as its `fetch`) and
 * through `switchyard serve` (a real process on a loopback port). Each item of the issue has its
 * client here: the Vercel AI SDK's default `openai(model)` (Responses API) with generateText and
 * streamText, retrying through a 429 + Retry-After; LangChain's ChatOpenAI with useResponsesApi;
 * structured output on Anthropic; embeddings; n and logprobs; reasoning; unknown parameters.
 */
const KEY = 'sk-test-not-a-real-key';
const BASE = 'http://sim.test';

function inProcess(rules: FaultRule[] = [], seed = 61): { fetch: typeof fetch; chaos: Chaos } {
  const clock = new RealClock();
  const simulator = createSimulator({ clock, seed, latency: { '*': ZERO_LATENCY } });
  const chaos = createChaos({ clock, seed, rules, upstream: (r) => simulator.handle(r) });
  return { fetch: chaosFetch(chaos), chaos };
}

/** A 429 with a short Retry-After on the first of every two matching calls. */
const firstOfTwoLimited = (endpoint: string): FaultRule => ({
  fault: 'rate_limit',
  params: { retryAfterMs: 200 },
  target: { endpoint },
  injection: { burst: { size: 1, every: 2 } },
});

const text = (result: { text: string }) => result.text;

describe('Vercel AI SDK, default openai(model) = the Responses API, in process', () => {
  it('generateText and streamText retry through a 429 with Retry-After and answer', async () => {
    const { fetch, chaos } = inProcess([firstOfTwoLimited('/v1/responses')]);
    const openai = createOpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch });
    const generated = await generateText({ model: openai('gpt-4.1-mini'), prompt: 'Say hello.' });
    expect(text(generated).length).toBeGreaterThan(0);
    expect(generated.finishReason).toBe('stop');
    expect(generated.usage.inputTokens).toBeGreaterThan(0);
    const streamed = streamText({ model: openai('gpt-4.1-mini'), prompt: 'Say hello again.' });
    let deltas = '';
    for await (const delta of streamed.textStream) deltas += delta;
    expect(deltas.length).toBeGreaterThan(0);
    expect(await streamed.text).toBe(deltas);
    expect(await streamed.finishReason).toBe('stop');
    // Two 429s injected, each retried once.
    expect(chaos.counters()).toMatchObject({ requests: { total: 4 }, injected: { total: 2 } });
  });

  it('tool calls, structured output and reasoning (effort and summary) over the Responses API', async () => {
    const { fetch } = inProcess();
    const openai = createOpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch });
    const called = await generateText({
      model: openai('gpt-4.1-mini'),
      prompt: 'Weather in Paris?',
      tools: { weather: { description: 'Weather', inputSchema: z.object({ city: z.string() }) } },
      toolChoice: 'required',
    });
    expect(called.toolCalls[0]?.toolName).toBe('weather');
    expect(called.toolCalls[0]?.input).toHaveProperty('city');
    const structured = await generateText({
      model: openai('gpt-4.1-mini'),
      prompt: 'A city and its population.',
      output: Output.object({ schema: z.object({ city: z.string(), population: z.number() }) }),
    });
    expect(structured.output).toEqual({ city: expect.any(String), population: expect.any(Number) });
    const reasoned = await generateText({
      model: openai('o4-mini'),
      prompt: 'Think, then answer.',
      maxOutputTokens: 300,
      providerOptions: { openai: { reasoningEffort: 'low', reasoningSummary: 'auto' } },
    });
    expect(reasoned.text.length).toBeGreaterThan(0);
    expect(reasoned.reasoningText?.length).toBeGreaterThan(0);
    expect(reasoned.usage.outputTokenDetails.reasoningTokens).toBeGreaterThan(0);
  });

  it('embed and embedMany: deterministic vectors of the asked dimensions', async () => {
    const { fetch } = inProcess();
    const openai = createOpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch });
    const model = openai.embedding('text-embedding-3-small');
    const one = await embed({ model, value: 'sunny day', providerOptions: { openai: { dimensions: 32 } } });
    expect(one.embedding).toHaveLength(32);
    expect(one.usage.tokens).toBeGreaterThan(0);
    const many = await embedMany({
      model,
      values: ['rainy day', 'sunny day'],
      providerOptions: { openai: { dimensions: 32 } },
    });
    expect(many.embeddings[1]).toEqual(one.embedding);
    expect(many.embeddings[0]).not.toEqual(one.embedding);
  });
});

describe('Vercel AI SDK on Anthropic', () => {
  it('structured output (output_config.format) gives JSON of the schema, non-streamed and streamed', async () => {
    const { fetch } = inProcess();
    const anthropic = createAnthropic({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch });
    const schema = z.object({ title: z.string(), tags: z.array(z.string()), year: z.number().int() });
    const generated = await generateText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'A book.',
      output: Output.object({ schema }),
    });
    expect(schema.safeParse(generated.output).success).toBe(true);
    const streamed = streamText({
      model: anthropic('claude-sonnet-4-6'),
      prompt: 'A book.',
      output: Output.object({ schema }),
    });
    expect(schema.safeParse(await streamed.output).success).toBe(true);
  });

  it('extended thinking: reasoning text, JSON and streamed', async () => {
    const { fetch } = inProcess();
    const anthropic = createAnthropic({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch });
    const options = { anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } } } as const;
    const generated = await generateText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'Think.',
      providerOptions: options,
    });
    expect(generated.reasoningText?.length).toBeGreaterThan(0);
    expect(generated.text.length).toBeGreaterThan(0);
    const streamed = streamText({
      model: anthropic('claude-sonnet-4-5'),
      prompt: 'Think.',
      providerOptions: options,
    });
    let reasoning = '';
    for await (const part of streamed.fullStream) if (part.type === 'reasoning-delta') reasoning += part.text;
    expect(reasoning.length).toBeGreaterThan(0);
    expect((await streamed.text).length).toBeGreaterThan(0);
  });
});

describe('LangChain', () => {
  it('ChatOpenAI with useResponsesApi: invoke and stream', async () => {
    const { fetch, chaos } = inProcess();
    const model = new ChatOpenAI({
      model: 'gpt-4.1-mini',
      apiKey: KEY,
      useResponsesApi: true,
      maxRetries: 0,
      configuration: { baseURL: `${BASE}/v1`, fetch },
    });
    const reply = await model.invoke('Say hello.');
    expect(reply.text.length).toBeGreaterThan(0);
    let streamed = '';
    for await (const chunk of await model.stream('Say hello again.')) streamed += chunk.text;
    expect(streamed.length).toBeGreaterThan(0);
    expect(chaos.counters().requests.byTarget).toEqual({ 'openai/gpt-4.1-mini': 2 });
  });

  it('ChatAnthropic with thinking: the reasoning block comes back with its signature', async () => {
    const { fetch } = inProcess();
    const model = new ChatAnthropic({
      model: 'claude-sonnet-4-5',
      apiKey: KEY,
      maxRetries: 0,
      maxTokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      clientOptions: { baseURL: BASE, fetch },
    });
    const reply = await model.invoke('Think, then answer.');
    const blocks = reply.content as Array<{ type: string; signature?: string }>;
    expect(blocks[0]?.type).toBe('thinking');
    expect(blocks[0]?.signature?.length).toBeGreaterThan(0);
  });
});

describe('the official SDKs: n, logprobs, reasoning_effort, unknown parameters', () => {
  it('n > 1 gives n choices and logprobs: true gives token logprobs, non-streamed and streamed', async () => {
    const { fetch } = inProcess();
    const openai = new OpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch, maxRetries: 0 });
    const request = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Hello' }],
      n: 3,
      logprobs: true,
      top_logprobs: 2,
    };
    const completion = await openai.chat.completions.create(request);
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(completion.choices.map((c) => c.message.content)).size).toBe(3);
    const first = completion.choices[0]!;
    expect(first.logprobs?.content?.map((t) => t.token).join('')).toBe(first.message.content);
    expect(first.logprobs?.content?.[0]?.top_logprobs).toHaveLength(2);
    const texts = ['', '', ''];
    let logprobTokens = 0;
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? '';
        logprobTokens += choice.logprobs?.content?.length ?? 0;
      }
    }
    expect(texts.every((t) => t.length > 0)).toBe(true);
    expect(logprobTokens).toBeGreaterThan(0);
  });

  it('reasoning_effort: reasoning tokens in usage, and visible content within max_completion_tokens', async () => {
    const { fetch } = inProcess();
    const openai = new OpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch, maxRetries: 0 });
    const usage: number[] = [];
    for (const effort of ['low', 'high'] as const) {
      const completion = await openai.chat.completions.create({
        model: 'o4-mini',
        messages: [{ role: 'user', content: 'Think, then answer.' }],
        reasoning_effort: effort,
        max_completion_tokens: 200,
      });
      const reasoning = completion.usage?.completion_tokens_details?.reasoning_tokens ?? 0;
      expect(reasoning).toBeGreaterThan(0);
      expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
      expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(200);
      usage.push(reasoning);
    }
    expect(usage[1]).toBeGreaterThan(usage[0]!);
  });

  it('unknown parameters are a 400 in each provider’s shape', async () => {
    const { fetch } = inProcess();
    const openai = new OpenAI({ apiKey: KEY, baseURL: `${BASE}/v1`, fetch, maxRetries: 0 });
    const chat = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], temprature: 0.2 } as never)
      .catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.BadRequestError);
    expect((chat as Error).message).toContain('Unrecognized request argument supplied: temprature');
    const responses = await openai.responses
      .create({ model: 'gpt-4.1-mini', input: 'x', max_tokens: 5 } as never)
      .catch((e: unknown) => e);
    expect(responses).toBeInstanceOf(OpenAI.BadRequestError);
    expect((responses as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('max_tokens');
    const anthropic = new Anthropic({ apiKey: KEY, baseURL: BASE, fetch, maxRetries: 0 });
    const message = await anthropic.messages
      .create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
        frequency_penalty: 1,
      } as never)
      .catch((e: unknown) => e);
    expect(message).toBeInstanceOf(Anthropic.BadRequestError);
    expect((message as Error).message).toContain('frequency_penalty: Extra inputs are not permitted');
  });
});

describe('Vercel AI SDK through `switchyard serve`', () => {
  const ROOT = resolve(import.meta.dirname, '../../../..');
  let child: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    const config = join(tmpdir(), `switchyard-clients-${process.pid}.json`);
    // The first of every two calls to /v1/responses is limited, with a 200 ms Retry-After.
    await writeFile(
      config,
      JSON.stringify({
        faults: [
          {
            fault: 'rate_limit',
            params: { retryAfterMs: 200 },
            target: { endpoint: '/v1/responses' },
            burst: { size: 1, every: 2 },
          },
        ],
      }),
    );
    child = spawn(
      process.execPath,
      [
        join(ROOT, 'core/src/cli/main.ts'),
        'serve',
        '--port',
        '0',
        '--config',
        config,
        '--admin-token',
        'clients-test-token',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      child!.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolveUrl(match[1]!);
      });
      child!.on('close', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
  }, 30_000);
  afterAll(() => {
    child?.kill('SIGKILL');
  });
  afterEach(() => undefined);

  it('generateText and streamText retry through the 429s and answer', async () => {
    const openai = createOpenAI({ apiKey: KEY, baseURL: `${url}/v1` });
    const generated = await generateText({ model: openai('gpt-4.1-mini'), prompt: 'Say hello.' });
    expect(generated.text.length).toBeGreaterThan(0);
    const streamed = streamText({ model: openai('gpt-4.1-mini'), prompt: 'Say hello again.' });
    expect((await streamed.text).length).toBeGreaterThan(0);
    const counters = (await (
      await fetch(`${url}/__switchyard/counters`, { headers: { authorization: 'Bearer clients-test-token' } })
    ).json()) as {
      requests: { total: number };
      injected: { total: number };
    };
    expect(counters.requests.total).toBe(4);
    expect(counters.injected.total).toBe(2);
  });
});
