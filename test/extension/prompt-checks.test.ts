import { FAULT_IDS } from '@switchyard/core/faults';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS } from '../../extension/src/compare/engine.ts';
import { checkPromptFile, columnCount, suggestionsFor } from '../../extension/src/compare/promptChecks.ts';
import { closestNames } from '../../extension/src/shared/names.ts';
import { parsePromptFile } from '../../extension/src/shared/promptFile.ts';
import type { CatalogueEntry } from '../../extension/src/shared/protocol.ts';

const catalogue: CatalogueEntry[] = [
  ['openai', 'gpt-4.1'],
  ['openai', 'gpt-4o-mini'],
  ['anthropic', 'claude-sonnet-4-6'],
  ['anthropic', 'claude-opus-4-6'],
  ['ollama', 'llama3.2:latest'],
].map(([provider, model]) => ({
  id: `${provider}/${model}`,
  provider: provider as CatalogueEntry['provider'],
  model: model!,
  source: 'simulator' as const,
}));
const known = { settings: { models: DEFAULT_MODELS }, catalogue, faultIds: FAULT_IDS };
const file = (front: string) => parsePromptFile(`---\n${front}\n---\n## A\nText\n`);

describe('prompt-file checks: what cannot run as written, flagged at the value, with quick fixes', () => {
  it('an id nothing resolves is an error, and the lens counts only the models that run', () => {
    const f = file('models: [gpt-4.1, anthropic/claude-sonnet-4-6, ollama/llama3.2]');
    const checks = checkPromptFile(f, known);
    expect(checks).toEqual([
      expect.objectContaining({
        code: 'unknown-model',
        severity: 'error',
        value: 'gpt-4.1',
        line: 1,
        column: 9,
        endColumn: 16,
        suggestions: ['openai/gpt-4.1'],
      }),
    ]);
    expect(checks[0]!.message).toMatch(/^unknown model "gpt-4\.1".* did you mean openai\/gpt-4\.1\?$/);
    expect(columnCount(f, known.settings)).toEqual({ columns: 2, unknown: 1 });
    expect(columnCount(file('title: x'), known.settings)).toEqual({ columns: 3, unknown: 0 });
  });

  it('a provider/model id its provider’s catalogue lacks is a warning (its column would fail), with the closest ids', () => {
    const checks = checkPromptFile(
      file('models: [anthropic/claude-sonet-4-6, ollama/llama3.2, ollama/qwen9]'),
      known,
    );
    expect(checks.map((c) => [c.code, c.severity, c.value, c.suggestions])).toEqual([
      [
        'model-not-in-catalogue',
        'warning',
        'anthropic/claude-sonet-4-6',
        ['anthropic/claude-sonnet-4-6', 'anthropic/claude-opus-4-6'],
      ],
      ['model-not-in-catalogue', 'warning', 'ollama/qwen9', []],
    ]);
    expect(checks[0]!.message).toContain("not in the simulator's catalogue");
    // `llama3.2` is `llama3.2:latest` to Ollama; nothing is said while no catalogue is loaded.
    expect(
      checkPromptFile(file('models: [anthropic/claude-sonet-4-6]'), { ...known, catalogue: [] }),
    ).toEqual([]);
  });

  it('a mistyped fault id is an error with "did you mean"', () => {
    const checks = checkPromptFile(file('chaos: { fault: rate_limt, provider: openai }'), known);
    expect(checks).toEqual([
      expect.objectContaining({
        code: 'unknown-fault',
        value: 'rate_limt',
        line: 1,
        column: 16,
        suggestions: ['rate_limit'],
      }),
    ]);
    expect(checks[0]!.message).toBe('chaos.fault: unknown fault "rate_limt" — did you mean rate_limit?');
    expect(checkPromptFile(file('chaos: { fault: rate_limit }'), known)).toEqual([]);
  });

  it('quick fixes recompute the same suggestions from the flagged text', () => {
    expect(suggestionsFor('unknown-fault', 'stream_cutt', known)).toEqual(['stream_cut']);
    expect(suggestionsFor('unknown-model', 'gpt-4.1', known)[0]).toBe('openai/gpt-4.1');
    expect(suggestionsFor('model-not-in-catalogue', 'openai/gpt-4o-mni', known)[0]).toBe(
      'openai/gpt-4o-mini',
    );
  });

  it('closest names: small edits only, best first, never the name itself', () => {
    expect(closestNames('rate_limt', FAULT_IDS)).toEqual(['rate_limit']);
    expect(closestNames('latency', FAULT_IDS)).toEqual([]);
    expect(closestNames('completely-different', FAULT_IDS)).toEqual([]);
  });
});
