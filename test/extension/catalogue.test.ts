import { BUILTIN_MODELS, type ModelCatalogue, startChaosProxy, ZERO_LATENCY } from '@switchyard/core/faults';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChatModel, loadCatalogue } from '../../extension/src/compare/catalogue.ts';
import { type CompareSettings, DEFAULT_MODELS } from '../../extension/src/compare/engine.ts';

const settings: CompareSettings = {
  models: DEFAULT_MODELS,
  simulation: 'auto',
  fallbackToOtherModels: false,
  maxAttempts: 2,
  ollamaLive: false,
  baseURLs: {},
  maxOutputTokens: 48,
};
const KEY = 'sk-catalogue-good-key-0000';

// A live OpenAI on loopback (real HTTP, the real SDK) whose account holds models the simulator's
// default catalogue does not: what the picker lists must come from it.
const accountModels: ModelCatalogue = {
  'gpt-4.1': BUILTIN_MODELS['gpt-4.1']!,
  'gpt-live-only': { ...BUILTIN_MODELS['gpt-4.1']!, servedAs: 'gpt-live-only' },
  'text-embedding-3-small': { ...BUILTIN_MODELS['gpt-4.1']!, servedAs: 'text-embedding-3-small' },
};
let proxy: Awaited<ReturnType<typeof startChaosProxy>>;
beforeAll(async () => {
  proxy = await startChaosProxy({
    mode: 'simulate',
    seed: 1,
    simulator: { models: accountModels, latency: { '*': ZERO_LATENCY }, acceptKey: (_p, k) => k === KEY },
  });
});
afterAll(() => proxy.close());

describe('the model picker’s catalogue', () => {
  it('without keys: the simulator’s catalogue, through the same SDK calls', async () => {
    const catalogue = await loadCatalogue(settings, {});
    expect(catalogue.notes).toEqual([]);
    const ids = catalogue.entries.map((e) => e.id);
    expect(ids).toEqual(
      expect.arrayContaining(['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-6', 'ollama/llama3.2:latest']),
    );
    expect(catalogue.entries.every((e) => e.source === 'simulator')).toBe(true);
  });

  it('with a key: the provider’s live models.list (chat models only); the others stay simulated', async () => {
    const live = { ...settings, baseURLs: { openai: `${proxy.url}/v1` } };
    const catalogue = await loadCatalogue(live, { openai: KEY });
    const openai = catalogue.entries.filter((e) => e.provider === 'openai');
    expect(openai.map((e) => [e.id, e.source])).toEqual([
      ['openai/gpt-4.1', 'live'],
      ['openai/gpt-4.1-2025-04-14', 'live'],
      ['openai/gpt-live-only', 'live'],
    ]);
    expect(
      catalogue.entries.filter((e) => e.provider === 'anthropic').every((e) => e.source === 'simulator'),
    ).toBe(true);
  });

  it('a live list that fails says why (status only, never the key) and the simulator’s stands in', async () => {
    const live = { ...settings, baseURLs: { openai: `${proxy.url}/v1` } };
    const wrong = 'sk-catalogue-wrong-key-9999';
    const catalogue = await loadCatalogue(live, { openai: wrong });
    expect(catalogue.notes).toEqual([
      "OpenAI: the live model list failed (401 unauthorized); showing the simulator's",
    ]);
    expect(JSON.stringify(catalogue)).not.toContain('9999');
    expect(catalogue.entries.find((e) => e.id === 'openai/gpt-4o-mini')?.source).toBe('simulator');
  });

  it('offers chat models only from OpenAI’s account-wide list', () => {
    expect(isChatModel('openai', 'gpt-4o-mini')).toBe(true);
    expect(isChatModel('openai', 'o3')).toBe(true);
    for (const id of ['text-embedding-3-small', 'whisper-1', 'dall-e-3', 'gpt-4o-realtime-preview', 'tts-1'])
      expect(isChatModel('openai', id)).toBe(false);
    expect(isChatModel('ollama', 'nomic-embed-text')).toBe(true);
  });
});
