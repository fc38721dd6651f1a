import { describe, expect, it } from 'vitest';
import {
  parseSavedComparison,
  SavedComparisonError,
  savedFileName,
  serializeComparison,
  upgradeStoredRun,
} from '../../extension/src/compare/savedFile.ts';
import type { RunState } from '../../extension/src/shared/protocol.ts';

const run: RunState = {
  runId: 'run-1',
  startedAt: 1_000,
  finishedAt: 3_000,
  label: 'Baseline: before upgrade',
  prompt: { title: 'Rivers', text: 'Name three rivers.', system: 'Be brief.' },
  chaos: { fault: 'rate_limit', provider: 'openai', rate: 0.5 },
  fallback: true,
  columns: [
    {
      spec: {
        id: 'openai/gpt-4.1',
        provider: 'openai',
        model: 'gpt-4.1',
        simulated: true,
        params: { temperature: 0.9, maxOutputTokens: 5 },
      },
      status: 'done',
      text: 'Nile, Amazon, Yangtze.',
      servedBy: 'openai/gpt-4.1',
      servedSimulated: true,
      latencyMs: 812,
      costUsd: 0.0012,
      attempts: [{ n: 1, deployment: 'openai/gpt-4.1', outcome: 'success', ms: 812, costUsd: 0.0012 }],
      trace: { id: 't', attempts: [] },
    },
    {
      spec: {
        id: 'anthropic/claude-sonnet-4-6',
        provider: 'anthropic',
        model: 'claude-sonnet-4-6',
        simulated: false,
      },
      status: 'failed',
      text: '',
      error: {
        deployment: 'anthropic/claude-sonnet-4-6',
        kind: 'auth',
        status: 401,
        message: 'anthropic: invalid x-api-key',
      },
      attempts: [],
    },
  ],
  finished: true,
};

describe('a comparison saved as a workspace file', () => {
  it('reads back exactly what was saved: columns with their parameters, answers, errors, label, chaos, fallback', () => {
    const text = serializeComparison(run, new Date(Date.UTC(2026, 0, 2)));
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toMatchObject({
      kind: 'switchyard-comparison',
      version: 1,
      savedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(parseSavedComparison(text, 'c.comparison.json')).toEqual(run);
  });

  it('a run saved while streaming is read as interrupted, not as running', () => {
    const streaming: RunState = {
      ...run,
      finished: false,
      columns: [{ ...run.columns[0]!, status: 'streaming' }],
    };
    const text = JSON.stringify({ kind: 'switchyard-comparison', version: 1, savedAt: 'x', run: streaming });
    const back = parseSavedComparison(text, 'c.comparison.json');
    expect(back.finished).toBe(true);
    expect(back.columns[0]).toMatchObject({ status: 'cancelled', error: { kind: 'cancelled' } });
  });

  it('bad JSON is reported at its line and column', () => {
    const text = '{\n  "kind": "switchyard-comparison",\n  "version": 1,\n  oops\n}\n';
    expect(() => parseSavedComparison(text, 'x.comparison.json')).toThrowError(SavedComparisonError);
    try {
      parseSavedComparison(text, 'x.comparison.json');
    } catch (error) {
      expect((error as SavedComparisonError).issues[0]).toMatchObject({
        file: 'x.comparison.json',
        line: 4,
        column: 3,
      });
      expect((error as Error).message).toMatch(/^x\.comparison\.json:4:3 invalid JSON \(\w+\)/);
    }
  });

  it('a wrong field is reported as file:line:column field: message, at the field', () => {
    const good = serializeComparison(run, new Date(0));
    const bad = good
      .replace('"provider": "anthropic"', '"provider": "mistral"')
      .replace('"temperature": 0.9', '"temperature": 7');
    let caught: SavedComparisonError | undefined;
    try {
      parseSavedComparison(bad, 'c.comparison.json');
    } catch (error) {
      caught = error as SavedComparisonError;
    }
    expect(caught).toBeInstanceOf(SavedComparisonError);
    const lines = bad.split('\n');
    const where = (needle: string) => {
      const line = lines.findIndex((l) => l.includes(needle));
      return { line: line + 1, column: lines[line]!.indexOf('"') + 1 };
    };
    expect(caught!.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'run.columns[1].spec.provider', ...where('"provider": "mistral"') }),
        expect.objectContaining({
          field: 'run.columns[0].spec.params',
          message: 'temperature: expected a number from 0 to 2',
          ...where('"params"'),
        }),
      ]),
    );
    expect(caught!.message).toMatch(/^c\.comparison\.json:\d+:\d+ run\.columns\[/m);
  });

  it('a file that is not a comparison says so', () => {
    expect(() => parseSavedComparison('{"kind":"other"}', 'x.comparison.json')).toThrowError(
      /x\.comparison\.json:1:2 kind: expected "switchyard-comparison"/,
    );
    expect(() => parseSavedComparison('', 'x.comparison.json')).toThrowError(
      /x\.comparison\.json:1:1 the file is empty/,
    );
  });

  it('history kept by the first version (errors as text, always fallback) is read, not dropped', () => {
    const { fallback: _none, ...rest } = run;
    const v1 = { ...rest, columns: [{ ...run.columns[1]!, error: 'auth: anthropic: invalid x-api-key' }] };
    expect(upgradeStoredRun(v1)).toMatchObject({
      fallback: true,
      columns: [
        {
          error: {
            deployment: 'anthropic/claude-sonnet-4-6',
            kind: 'auth',
            message: 'auth: anthropic: invalid x-api-key',
          },
        },
      ],
    });
    expect(upgradeStoredRun({ nonsense: true })).toBeUndefined();
  });

  it('file names from the label or title', () => {
    expect(savedFileName(run)).toBe('baseline-before-upgrade.comparison.json');
    expect(savedFileName({ ...run, label: '' })).toBe('rivers.comparison.json');
    expect(savedFileName({ ...run, label: '!!!', prompt: { title: '', text: 'x' } })).toBe(
      'comparison.comparison.json',
    );
  });
});
