import { describe, expect, it } from 'vitest';
import table from '../../data/prices.json' with { type: 'json' };
import {
  costUsd,
  knownModels,
  modelInfo,
  PRICE_TABLE_AS_OF,
  priceFor,
} from '../../src/runtime/cost/index.ts';

describe('priceFor', () => {
  it('finds a model by its exact name', () => {
    expect(priceFor('gpt-4o')).toEqual({ input: 2.5, output: 10, cachedInput: 1.25 });
    expect(priceFor('claude-sonnet-4-5')).toEqual({ input: 3, output: 15, cachedInput: 0.3 });
  });

  it('finds a dated snapshot through the longest known prefix', () => {
    expect(priceFor('gpt-4.1-2025-04-14')).toEqual(priceFor('gpt-4.1'));
    // 'gpt-4o-mini-…' extends both 'gpt-4o' and 'gpt-4o-mini': the longer one wins.
    expect(priceFor('gpt-4o-mini-2024-07-18')).toEqual(priceFor('gpt-4o-mini'));
    expect(priceFor('gpt-4o-mini-2024-07-18')).not.toEqual(priceFor('gpt-4o'));
    expect(priceFor('claude-sonnet-4-5-20250929')).toEqual(priceFor('claude-sonnet-4-5'));
    expect(priceFor('claude-sonnet-4-20250514')).toEqual(priceFor('claude-sonnet-4'));
    expect(priceFor('claude-3-5-haiku-latest')).toEqual(priceFor('claude-3-5-haiku'));
  });

  it('prices Ollama tags of local models at zero', () => {
    expect(priceFor('llama3.2:3b')).toEqual({ input: 0, output: 0, cachedInput: 0 });
    expect(priceFor('qwen2.5:7b-instruct')).toEqual({ input: 0, output: 0, cachedInput: 0 });
  });

  it('does not lend a sibling model its price', () => {
    // o3-pro costs far more than o3: borrowing o3's price would let budgets be overspent.
    expect(priceFor('o3-pro')).toBeUndefined();
    expect(priceFor('gpt-5-chat-latest')).toBeUndefined();
    expect(priceFor('no-such-model')).toBeUndefined();
    expect(priceFor('')).toBeUndefined();
  });

  it('prefers config overrides, exact or by prefix, over the table', () => {
    const overrides = {
      'gpt-4o': { input: 1, output: 2 },
      'my-finetune': { input: 5, output: 6, cachedInput: 1 },
    };
    expect(priceFor('gpt-4o', overrides)).toEqual({ input: 1, output: 2 });
    expect(priceFor('gpt-4o-2024-08-06', overrides)).toEqual({ input: 1, output: 2 });
    expect(priceFor('my-finetune', overrides)).toEqual({ input: 5, output: 6, cachedInput: 1 });
    expect(priceFor('gpt-4.1', overrides)).toEqual(priceFor('gpt-4.1'));
  });

  it('does not treat Object.prototype names as models', () => {
    expect(priceFor('constructor')).toBeUndefined();
    expect(priceFor('toString', {})).toBeUndefined();
  });
});

describe('modelInfo', () => {
  it('returns the matched entry with its limits', () => {
    expect(modelInfo('gpt-4.1-mini-2025-04-14')).toMatchObject({
      model: 'gpt-4.1-mini',
      provider: 'openai',
      contextWindow: 1_047_576,
      maxOutputTokens: 32_768,
    });
    expect(modelInfo('claude-haiku-4-5')).toMatchObject({ provider: 'anthropic', contextWindow: 200_000 });
    expect(modelInfo('llama3.2:1b')).toMatchObject({ model: 'llama3.2', provider: 'ollama', input: 0 });
    expect(modelInfo('unknown')).toBeUndefined();
  });
});

describe('price table', () => {
  it('is dated and internally consistent', () => {
    expect(PRICE_TABLE_AS_OF).toBe('2026-11-01');
    expect(table.source).toMatch(/price pages/);
    for (const name of knownModels()) {
      const info = modelInfo(name)!;
      expect(info.model, name).toBe(name);
      expect(['openai', 'anthropic', 'ollama'], name).toContain(info.provider);
      expect(info.cachedInput, name).toBeLessThanOrEqual(info.input);
      expect(info.output, name).toBeGreaterThanOrEqual(info.input);
      if (info.maxOutputTokens !== undefined && info.contextWindow !== undefined) {
        expect(info.maxOutputTokens, name).toBeLessThan(info.contextWindow);
      }
    }
  });

  it('covers the models the router is expected to price', () => {
    const expected = [
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
      'gpt-4o',
      'gpt-4o-mini',
      'o3',
      'o4-mini',
      'claude-opus-4-1',
      'claude-sonnet-4-5',
      'claude-sonnet-4',
      'claude-haiku-4-5',
      'claude-3-5-haiku',
      'llama3.2',
      'qwen2.5',
    ];
    for (const model of expected) expect(priceFor(model), model).toBeDefined();
  });
});

describe('costUsd', () => {
  const price = { input: 2, output: 8, cachedInput: 0.5 };

  it('bills cached input at the cached price and the rest at the input price', () => {
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 10_000 };
    // 600k × $2 + 400k × $0.5 + 10k × $8, per million
    expect(costUsd(usage, price)).toBeCloseTo(1.2 + 0.2 + 0.08, 12);
  });

  it('bills cached input at the input price when the price has no cached rate', () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 1000, outputTokens: 0 };
    expect(costUsd(usage, { input: 3, output: 15 })).toBeCloseTo(0.003, 12);
  });

  it('never counts more cached tokens than input tokens', () => {
    const usage = { inputTokens: 100, cachedInputTokens: 500, outputTokens: 0 };
    expect(costUsd(usage, price)).toBeCloseTo((100 * 0.5) / 1e6, 15);
  });

  it('is zero for no tokens and for a free model', () => {
    expect(costUsd({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }, price)).toBe(0);
    expect(
      costUsd({ inputTokens: 5000, cachedInputTokens: 0, outputTokens: 5000 }, priceFor('llama3.2')!),
    ).toBe(0);
  });

  it('matches a hand-computed gpt-5 call', () => {
    const usage = { inputTokens: 12_000, cachedInputTokens: 8_000, outputTokens: 1_500 };
    // 4k × 1.25 + 8k × 0.125 + 1.5k × 10 = 5000 + 1000 + 15000 millionths
    expect(costUsd(usage, priceFor('gpt-5')!)).toBeCloseTo(0.021, 12);
  });
});
