import { describe, expect, it } from 'vitest';
import {
  type CompareSettings,
  DEFAULT_MODELS,
  planColumns,
  routerConfigFor,
  runComparison,
} from '../../extension/src/compare/engine.ts';
import { timelineText } from '../../extension/src/shared/format.ts';

const settings: CompareSettings = {
  models: DEFAULT_MODELS,
  simulation: 'auto',
  fallbackToOtherModels: true,
  maxAttempts: 2,
  ollamaLive: false,
  baseURLs: {},
  maxOutputTokens: 48,
};

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

  it('routes each column to its model first, then the others, and never puts a key in the config', () => {
    const { columns, models } = planColumns(undefined, settings, { openai: 'sk-fake-123' });
    const config = routerConfigFor(models, columns, settings);
    expect(JSON.stringify(config)).not.toContain('sk-fake-123');
    expect(config.routes?.[0]).toMatchObject({
      name: 'compare:openai/gpt-4.1',
      deployments: ['openai/gpt-4.1'],
      fallbacks: ['anthropic/claude-sonnet-4-6', 'ollama/llama3.2'],
    });
  });

  it('streams three columns and shows the fallback path of a provider made to fail', async () => {
    const { columns, models } = planColumns(undefined, settings, {});
    const deltas = new Map<string, number>();
    const results = await runComparison({
      columns,
      models,
      settings,
      keys: {},
      seed: 11,
      prompt: { title: 't', text: 'Name three rivers.' },
      chaos: { fault: 'service_unavailable', provider: 'openai', rate: 1 },
      onDelta: (c) => deltas.set(c, (deltas.get(c) ?? 0) + 1),
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'done', 'done']);
    const openai = results[0]!;
    expect(openai.servedBy).toBe('anthropic/claude-sonnet-4-6');
    expect(openai.attempts.map((a) => [a.deployment, a.outcome, a.status])).toEqual([
      ['openai/gpt-4.1', 'error', 503],
      ['openai/gpt-4.1', 'error', 503],
      ['anthropic/claude-sonnet-4-6', 'success', undefined],
    ]);
    expect(timelineText(openai.attempts)).toMatch(
      /^openai\/gpt-4\.1 ✗ 503, waited \d+ ms → ✗ 503 → anthropic\/claude-sonnet-4-6 ✓ [\d.]+ m?s \$0\.\d+$/,
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
    const { columns, models } = planColumns(undefined, settings, {});
    const controller = new AbortController();
    const results = await runComparison({
      columns,
      models,
      settings: { ...settings, fallbackToOtherModels: false },
      keys: {},
      seed: 5,
      prompt: { title: 't', text: 'Hello' },
      columnSignal: (c) => (c === 'anthropic/claude-sonnet-4-6' ? controller.signal : undefined),
      onStart: (c) => {
        if (c === 'anthropic/claude-sonnet-4-6') setTimeout(() => controller.abort(), 20);
      },
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'cancelled', 'done']);
  });
});
