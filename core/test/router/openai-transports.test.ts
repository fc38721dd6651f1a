import { describe, expect, it } from 'vitest';
import { createChaos } from '../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../src/faults/chaos/plan.ts';
import { chaosFetch } from '../../src/faults/delivery/fetch.ts';
import { createSimulator, SIMULATED_API_KEY, ZERO_LATENCY } from '../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { parseRouterConfig } from '../../src/runtime/config/load.ts';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { OpenAIResponsesAdapter } from '../../src/runtime/providers/openai-responses.ts';
import { Router } from '../../src/runtime/router.ts';
import type { DecisionTrace } from '../../src/runtime/trace/trace.ts';
import type { ChatRequest, EmbedRequest, StreamEvent } from '../../src/runtime/types.ts';
import { drive } from './stand-in.ts';

/**
 * The router over OpenAI's two transports, `api: chat` (Chat Completions) and `api: responses`, with
 * the same requests and the same expectations, streamed and not: the real openai SDK against the
 * simulator, faults from the catalogue in between. And `Router.embed()` with the same policies.
 */
function setup(api: 'chat' | 'responses', rules: FaultRule[] = [], extra: Partial<RouterConfigInput> = {}) {
  const clock = new VirtualClock();
  const simulator = createSimulator({ clock, seed: 9, latency: { '*': ZERO_LATENCY } });
  const chaos = createChaos({ clock, seed: 9, rules, upstream: (r) => simulator.handle(r) });
  const seen: string[] = [];
  const fetch = chaosFetch({
    handle: (request) => {
      seen.push(new URL(request.url).pathname);
      return chaos.handle(request);
    },
  });
  const traces: DecisionTrace[] = [];
  const router = new Router({
    clock,
    fetch,
    random: () => 0,
    env: { KEY: SIMULATED_API_KEY },
    config: {
      deployments: [
        {
          id: 'gpt',
          provider: 'openai',
          model: 'gpt-4.1-mini',
          api,
          apiKey: { env: 'KEY' },
          baseURL: 'http://sim.test/v1',
        },
        {
          id: 'claude',
          provider: 'anthropic',
          model: 'claude-haiku-4-5',
          apiKey: { env: 'KEY' },
          baseURL: 'http://sim.test',
        },
        {
          id: 'embed',
          provider: 'openai',
          model: 'text-embedding-3-small',
          apiKey: { env: 'KEY' },
          baseURL: 'http://sim.test/v1',
        },
      ],
      routes: [
        { name: 'chat', deployments: ['gpt'], fallbacks: ['claude'] },
        { name: 'vectors', deployments: ['claude'], fallbacks: ['embed'] },
      ],
      policies: { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
      ...extra,
    },
  });
  router.onTrace((t) => traces.push(t));
  // Every call driven on the virtual clock (retry waits, Retry-After).
  const driven = {
    complete: (request: ChatRequest) => drive(clock, router.complete(request)),
    embed: (request: EmbedRequest) => drive(clock, router.embed(request)),
    stream: (request: ChatRequest) => drive(clock, collect(router.stream(request))),
  };
  return { router: driven, seen, traces, chaos };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const ask = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'chat',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello there' },
  ],
  ...extra,
});

const streamed = (router: { stream(request: ChatRequest): Promise<StreamEvent[]> }, request: ChatRequest) =>
  router.stream(request);

const weather = {
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each(['chat', 'responses'] as const)('an OpenAI deployment with api: %s', (api) => {
  const endpoint = api === 'chat' ? '/v1/chat/completions' : '/v1/responses';

  it('answers text, JSON and tool calls through its own endpoint', async () => {
    const { router, seen } = await setup(api);
    const text = await router.complete(ask());
    expect(text.text.length).toBeGreaterThan(0);
    expect(text.finishReason).toBe('stop');
    expect(text.usage.inputTokens).toBeGreaterThan(0);
    const json = await router.complete(ask({ responseFormat: 'json' }));
    expect(() => JSON.parse(json.text)).not.toThrow();
    const tool = await router.complete(ask({ tools: [weather], toolChoice: 'required' }));
    expect(tool.finishReason).toBe('tool_calls');
    expect(JSON.parse(tool.toolCalls[0]!.arguments)).toHaveProperty('city');
    const cut = await router.complete(
      ask({ maxOutputTokens: 16, messages: [{ role: 'user', content: 'A long story please' }] }),
    );
    expect(cut.finishReason).toBe('length');
    expect(new Set(seen)).toEqual(new Set([endpoint]));
  });

  it('streams text and tool calls to a finish, with usage', async () => {
    const { router } = await setup(api);
    const events = await streamed(router, ask());
    const text = events
      .filter((e) => e.type === 'text-delta')
      .map((e) => (e as { text: string }).text)
      .join('');
    const done = events.at(-1) as Extract<StreamEvent, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(done.response.text).toBe(text);
    expect(done.response.usage.outputTokens).toBeGreaterThan(0);
    const tool = await streamed(router, ask({ tools: [weather], toolChoice: 'required' }));
    expect(tool.some((e) => e.type === 'tool-call')).toBe(true);
  });

  it('retries through a 429 with Retry-After, streamed and not', async () => {
    const rules: FaultRule[] = [
      {
        fault: 'rate_limit',
        params: { retryAfterMs: 500 },
        target: { endpoint },
        injection: { everyNth: 2 },
      },
    ];
    const { router, traces } = await setup(api, rules);
    await router.complete(ask()); // 1st request passes, 2nd is limited
    const retried = await router.complete(ask());
    expect(retried.text.length).toBeGreaterThan(0);
    expect(traces.at(-1)!.attempts.map((a) => a.outcome)).toEqual(['error', 'success']);
    expect(traces.at(-1)!.attempts[0]!.delayBeforeNextMs).toBe(500);
    const events = await streamed(router, ask());
    expect(events.at(-1)!.type).toBe('done');
  });

  it('a stream cut before its end, an error event or a garbled event inside it, is an error event with the text so far', async () => {
    // Past the first text: a Responses stream opens with four events before its first delta.
    const afterChunks = api === 'responses' ? 7 : 4;
    for (const fault of ['stream_cut', 'stream_error_event', 'malformed_sse'] as const) {
      const params: Record<string, number> =
        fault === 'malformed_sse' ? { atChunk: afterChunks } : { afterChunks };
      const { router } = await setup(api, [{ fault, params, injection: { firstN: 1 } }]);
      const events = await streamed(router, ask());
      const last = events.at(-1) as Extract<StreamEvent, { type: 'error' }>;
      expect(last.type, fault).toBe('error');
      expect(last.partialText.length, fault).toBeGreaterThan(0);
    }
  });

  it('a server error falls back to the next deployment', async () => {
    const { router, traces } = await setup(api, [{ fault: 'server_error', target: { endpoint } }]);
    const answer = await router.complete(ask());
    expect(answer.deployment).toBe('claude');
    expect(traces.at(-1)!.attempts.map((a) => a.deployment)).toEqual(['gpt', 'gpt', 'gpt', 'claude']);
  });
});

describe('the Responses request body', () => {
  it('instructions from system messages, tool results as function_call_output, store off, max_output_tokens ≥ 16', () => {
    const adapter = new OpenAIResponsesAdapter(
      { id: 'r', provider: 'openai', model: 'gpt-4.1', api: 'responses', weight: 1, tags: [] },
      { apiKey: 'k' },
    );
    const body = adapter.buildParams({
      maxOutputTokens: 4,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'w', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'c1', content: 'sunny' },
      ],
    });
    expect(body).toEqual({
      model: 'gpt-4.1',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'Weather?' },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      ],
      store: false,
      max_output_tokens: 16,
    });
  });
});

describe('Router.embed()', () => {
  it('vectors per input, usage and cost, falling back past a deployment without embeddings', async () => {
    const { router, traces } = await setup('chat');
    const result = await router.embed({ model: 'vectors', input: ['alpha', 'beta'], dimensions: 64 });
    expect(result.deployment).toBe('embed');
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(64);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const trace = traces.at(-1)!;
    expect(trace.attempts.map((a) => [a.deployment, a.outcome, a.errorKind])).toEqual([
      ['claude', 'error', 'bad_request'],
      ['embed', 'success', undefined],
    ]);
    // Deterministic per input: the same text embeds the same way in a later call.
    const again = await router.embed({ model: 'embed', input: 'alpha', dimensions: 64 });
    expect(again.embeddings[0]).toEqual(result.embeddings[0]);
  });

  it('retries a 429 with its Retry-After, and opens the breaker after repeated 5xx like any call', async () => {
    const { router, traces } = await setup('chat', [
      {
        fault: 'rate_limit',
        params: { retryAfterMs: 250 },
        target: { endpoint: '/v1/embeddings' },
        injection: { firstN: 1 },
      },
    ]);
    await router.embed({ model: 'embed', input: 'x' });
    expect(traces.at(-1)!.attempts.map((a) => [a.outcome, a.delayBeforeNextMs])).toEqual([
      ['error', 250],
      ['success', undefined],
    ]);
    const failing = await setup('chat', [{ fault: 'server_error', target: { endpoint: '/v1/embeddings' } }], {
      policies: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } },
    });
    for (let i = 0; i < 2; i++)
      await expect(failing.router.embed({ model: 'embed', input: 'x' })).rejects.toMatchObject({
        kind: 'server_error',
      });
    await expect(failing.router.embed({ model: 'embed', input: 'x' })).rejects.toMatchObject({
      kind: 'circuit_open',
    });
  });
});

describe('the api field in a router config', () => {
  it('is refused on a provider it does not apply to, with file:line:column and the field', () => {
    const yaml = [
      'deployments:',
      '  - id: claude',
      '    provider: anthropic',
      '    model: claude-haiku-4-5',
      '    api: responses',
      '',
    ].join('\n');
    expect(() => parseRouterConfig(yaml, 'router.yaml')).toThrow(
      /router\.yaml:5:\d+ deployments\[0\]\.api: api applies to openai and openai-compatible deployments, not anthropic/,
    );
  });
});
