import { RealClock } from '@switchyard/core';
import { createSimulator, ZERO_LATENCY } from '@switchyard/core/faults';
import { describe, expect, it } from 'vitest';
import {
  type CompareRequest,
  type CompareSettings,
  DEFAULT_MODELS,
  planColumns,
  routerConfigFor,
  runComparison,
} from '../../extension/src/compare/engine.ts';
import { markColumns, timelineText } from '../../extension/src/shared/format.ts';

const GOOD_KEY = 'sk-unit-good-key-123456';

/**
 * A live OpenAI for the engine: the simulator answering real SDK requests as the outside world would,
 * accepting one key only, recording what it was sent.
 */
function liveOpenAI() {
  const provider = createSimulator({
    clock: new RealClock(),
    seed: 3,
    latency: { '*': ZERO_LATENCY },
    acceptKey: (_p, key) => key === GOOD_KEY,
  });
  const bodies: Array<Record<string, unknown>> = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.method === 'POST') bodies.push((await request.clone().json()) as Record<string, unknown>);
    return provider.handle(request);
  };
  return { fetch: fetch as typeof globalThis.fetch, bodies };
}

const settings: CompareSettings = {
  models: DEFAULT_MODELS,
  simulation: 'auto',
  fallbackToOtherModels: true,
  maxAttempts: 2,
  ollamaLive: false,
  baseURLs: {},
  maxOutputTokens: 48,
};

/** A comparison against the simulator, no keys: the default models unless `ids` names others. */
function compareSimulated(options: Partial<CompareRequest> & { ids?: string[] }) {
  const { ids, ...request } = options;
  const { columns, models } = planColumns(ids, settings, {});
  return runComparison({
    columns,
    models,
    settings,
    fallback: false,
    keys: {},
    seed: 1,
    prompt: { title: 't', text: 'Hi' },
    ...request,
  });
}

describe('compare engine (simulator, no keys)', () => {
  it('plans one simulated column per model when no key is set', () => {
    const { columns, problems } = planColumns(undefined, settings, {});
    expect(problems).toEqual([]);
    expect(columns.map((c) => [c.id, c.simulated])).toEqual([
      ['openai/gpt-4.1', true],
      ['anthropic/claude-sonnet-4-6', true],
      ['ollama/llama3.2', true],
    ]);
  });

  it('a provider with a key is live; unknown ids are reported, provider/model ids accepted', () => {
    const { columns, problems } = planColumns(
      ['openai/gpt-4o', 'nope', 'anthropic/claude-sonnet-4-6'],
      settings,
      {
        anthropic: 'sk-ant-fake',
      },
    );
    expect(columns.map((c) => [c.id, c.simulated])).toEqual([
      ['openai/gpt-4o', true],
      ['anthropic/claude-sonnet-4-6', false],
    ]);
    expect(problems).toEqual([expect.stringContaining('unknown model "nope"')]);
  });

  it('routes each column to its own model only; with fallback on, the others follow; never a key in the config', () => {
    const { columns, models } = planColumns(undefined, settings, { openai: 'sk-fake-123' });
    const own = routerConfigFor(models, columns, settings, false);
    expect(own.routes?.[0]).toMatchObject({
      name: 'compare:openai/gpt-4.1',
      deployments: ['openai/gpt-4.1'],
      fallbacks: [],
    });
    const config = routerConfigFor(models, columns, settings, true);
    expect(JSON.stringify(config)).not.toContain('sk-fake-123');
    expect(config.routes?.[0]).toMatchObject({
      name: 'compare:openai/gpt-4.1',
      deployments: ['openai/gpt-4.1'],
      fallbacks: ['anthropic/claude-sonnet-4-6', 'ollama/llama3.2'],
    });
  });

  it('by default a failing column shows its own error and no other model’s answer', async () => {
    const results = await compareSimulated({
      seed: 11,
      chaos: { fault: 'service_unavailable', provider: 'openai', rate: 1 },
    });
    expect(results.map((r) => r.status)).toEqual(['failed', 'done', 'done']);
    const openai = results[0]!;
    expect(openai.text).toBe('');
    expect(openai.servedBy).toBeUndefined();
    expect(openai.error).toMatchObject({ deployment: 'openai/gpt-4.1', kind: 'overloaded', status: 503 });
    expect(openai.attempts.map((a) => a.deployment)).toEqual(['openai/gpt-4.1', 'openai/gpt-4.1']);
    expect(markColumns(results).failed).toEqual(['openai/gpt-4.1']);
  });

  it('a live column with a wrong key fails with its own 401; with fallback on, the answer is marked as simulated', async () => {
    const live = liveOpenAI();
    const liveSettings = { ...settings, baseURLs: { openai: 'http://live-openai.test/v1' } };
    const keys = { openai: 'sk-unit-wrong-key-999999' };
    const { columns, models } = planColumns(undefined, liveSettings, keys);
    expect(columns.map((c) => c.simulated)).toEqual([false, true, true]);
    const base = { columns, models, settings: liveSettings, keys, liveFetch: live.fetch, seed: 4 };
    const prompt = { title: 't', text: 'Hi' };
    const own = await runComparison({ ...base, prompt, fallback: false });
    expect(own[0]).toMatchObject({
      status: 'failed',
      text: '',
      error: { deployment: 'openai/gpt-4.1', kind: 'auth', status: 401 },
    });
    expect(own[0]!.error!.message).not.toContain('wrong-key-999999');
    const fell = await runComparison({ ...base, prompt, fallback: true });
    expect(fell[0]).toMatchObject({
      status: 'done',
      servedBy: 'anthropic/claude-sonnet-4-6',
      servedSimulated: true,
      error: { deployment: 'openai/gpt-4.1', kind: 'auth', status: 401 },
    });
    expect(fell[0]!.text.length).toBeGreaterThan(0);
    // It answered through another model: no badge for it, whatever its numbers.
    const marks = markColumns(fell);
    expect(marks.fellBack).toEqual(['openai/gpt-4.1']);
    expect([...marks.cheapest, ...marks.fastest]).not.toContain('openai/gpt-4.1');
  });

  it('when everything fails, each column shows its own model’s error, not the last fallback’s', async () => {
    const results = await compareSimulated({
      settings: { ...settings, maxAttempts: 1 },
      fallback: true,
      seed: 12,
      chaos: { fault: 'service_unavailable', provider: 'all', rate: 1 },
    });
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(results.map((r) => r.attempts.length)).toEqual([3, 3, 3]);
    expect(results.map((r) => [r.error?.deployment, r.error?.message.split(':')[0]])).toEqual([
      ['openai/gpt-4.1', 'openai'],
      ['anthropic/claude-sonnet-4-6', 'anthropic'],
      ['ollama/llama3.2', 'ollama'],
    ]);
  });

  it('a model that does not exist fails with its own 404', async () => {
    const [missing, other] = await compareSimulated({
      ids: ['openai/gpt-9-nonexistent', 'ollama/llama3.2'],
      seed: 2,
    });
    expect(missing).toMatchObject({
      status: 'failed',
      error: { deployment: 'openai/gpt-9-nonexistent', kind: 'not_found', status: 404 },
    });
    expect(other!.status).toBe('done');
  });

  it('a column’s own parameters reach its provider request, over the prompt’s; other columns keep the prompt’s', async () => {
    const live = liveOpenAI();
    const liveSettings = { ...settings, baseURLs: { openai: 'http://live-openai.test/v1' } };
    const keys = { openai: GOOD_KEY };
    const { columns, models } = planColumns(['openai/gpt-4.1', 'openai/gpt-4o'], liveSettings, keys, {
      'openai/gpt-4o': { system: 'Answer in French.', temperature: 0.9, maxOutputTokens: 5 },
    });
    const results = await runComparison({
      columns,
      models,
      settings: liveSettings,
      fallback: false,
      keys,
      liveFetch: live.fetch,
      seed: 6,
      prompt: { title: 't', text: 'Hi', system: 'Be brief.', temperature: 0.2, maxOutputTokens: 40 },
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'done']);
    // What each model was sent: its column's own parameters, or the prompt's.
    const sent = (model: string) => {
      const body = live.bodies.find((b) => b.model === model)!;
      const messages = body.messages as Array<{ content: string }>;
      return [messages[0]?.content, body.temperature, body.max_completion_tokens ?? body.max_tokens];
    };
    expect(sent('gpt-4o')).toEqual(['Answer in French.', 0.9, 5]);
    expect(sent('gpt-4.1')).toEqual(['Be brief.', 0.2, 40]);
    expect(results[1]!.outputTokens).toBeLessThanOrEqual(5);
  });

  it('streams three columns and shows the fallback path of a provider made to fail (fallback on)', async () => {
    const deltas = new Map<string, number>();
    const results = await compareSimulated({
      fallback: true,
      seed: 11,
      prompt: { title: 't', text: 'Name three rivers.' },
      chaos: { fault: 'service_unavailable', provider: 'openai', rate: 1 },
      onDelta: (c) => deltas.set(c, (deltas.get(c) ?? 0) + 1),
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'done', 'done']);
    const openai = results[0]!;
    expect(openai.servedBy).toBe('anthropic/claude-sonnet-4-6');
    expect(openai.error).toMatchObject({ deployment: 'openai/gpt-4.1', status: 503 });
    expect(openai.attempts.map((a) => [a.deployment, a.outcome, a.status])).toEqual([
      ['openai/gpt-4.1', 'error', 503],
      ['openai/gpt-4.1', 'error', 503],
      ['anthropic/claude-sonnet-4-6', 'success', undefined],
    ]);
    expect(timelineText(openai.attempts)).toMatch(
      /^openai\/gpt-4\.1 ✗ 503 service unavailable → ↻ openai\/gpt-4\.1 after \d+ ms ✗ 503 service unavailable → anthropic\/claude-sonnet-4-6 ✓ [\d.]+ m?s \$0\.\d+$/,
    );
    for (const r of results) {
      expect(r.text.length).toBeGreaterThan(0);
      expect(deltas.get(r.spec.id)).toBeGreaterThan(0);
      expect(r.latencyMs).toBeGreaterThan(0);
      expect(r.outputTokens).toBeGreaterThan(0);
    }
    expect(results[1]!.costUsd).toBeGreaterThan(0);
    expect(results[2]!.costUsd).toBe(0);
  });

  it('cancels a column through its own signal without touching the others', async () => {
    const controller = new AbortController();
    const results = await compareSimulated({
      seed: 5,
      columnSignal: (c) => (c === 'anthropic/claude-sonnet-4-6' ? controller.signal : undefined),
      onStart: (c) => {
        if (c === 'anthropic/claude-sonnet-4-6') setTimeout(() => controller.abort(), 20);
      },
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'cancelled', 'done']);
  });
});
