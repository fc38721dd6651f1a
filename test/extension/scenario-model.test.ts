import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_IDS } from '@switchyard/core/faults';
import { describe, expect, it } from 'vitest';
import {
  crlf,
  explainUnknownFault,
  looksLikeScenario,
  outlineScenario,
  verdicts,
} from '../../extension/src/scenarios/model.ts';

const fixture = join(
  import.meta.dirname,
  '../../extension/test/fixtures/workspace/scenarios/openai-outage.yaml',
);

describe('scenarios in the Testing view (no vscode)', () => {
  it('tells scenarios from router configs', () => {
    expect(looksLikeScenario(readFileSync(fixture, 'utf8'))).toBe(true);
    expect(
      looksLikeScenario(
        readFileSync(join(import.meta.dirname, '../../scenarios/router.default.yaml'), 'utf8'),
      ),
    ).toBe(false);
  });

  it('outlines hypotheses with 0-based lines and readable labels', () => {
    const result = outlineScenario(readFileSync(fixture, 'utf8'), fixture);
    expect(result.ok && result.outline.hypotheses).toEqual([
      { index: 0, id: '0:success_rate', label: '#1 success_rate', line: 32 },
      { index: 1, id: '1:fallback_path', label: '#2 fallback_path (during)', line: 34 },
      { index: 2, id: 'deliberately-failing', label: 'deliberately-failing — latency', line: 37 },
    ]);
  });

  it("locates the loader's problems (1-based in core, 0-based for the editor)", () => {
    const text =
      'name: x\ndescription: d\nseed: 1\nrouter: { path: r.yaml }\nload: { requests: 1 }\nfaults: []\nhypotheses: []\n';
    const result = outlineScenario(text, '/s.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual(
        expect.objectContaining({ file: '/s.yaml', line: 4, message: expect.stringMatching(/rate/) }),
      );
  });

  it('turns hypothesis results into verdicts with expected and actual', () => {
    const v = verdicts({
      hypotheses: [
        {
          id: 'h',
          kind: 'latency',
          description: 'p95 latency ≤ 50 ms',
          line: 38,
          phase: 'overall',
          passed: false,
          expected: '≤ 50 ms',
          actual: '2248 ms over 40 requests',
          examples: ['req-1'],
        },
      ],
    });
    expect(v).toEqual([
      {
        index: 0,
        passed: false,
        message: 'latency: p95 latency ≤ 50 ms\nexamples: req-1',
        expected: '≤ 50 ms',
        actual: '2248 ms over 40 requests',
        line: 37,
      },
    ]);
    expect(crlf('a\nb\r\nc')).toBe('a\r\nb\r\nc');
  });

  it('a mistyped fault id: "did you mean", on the value itself (where the quick fix replaces it)', () => {
    const text = readFileSync(fixture, 'utf8').replace(
      'fault: service_unavailable',
      'fault: servce_unavailable',
    );
    const result = outlineScenario(text, fixture);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const [issue] = result.issues.filter((i) => /faults\[0\]\.fault/.test(i.message));
    expect(issue?.message).toMatch(/Invalid option: expected one of/);
    const explained = explainUnknownFault(issue!, text, FAULT_IDS);
    const line = text.split('\n')[explained.line]!;
    expect(line.slice(explained.column, explained.endColumn)).toBe('servce_unavailable');
    expect(explained).toMatchObject({
      code: 'unknown-fault',
      message: 'faults[0].fault: unknown fault "servce_unavailable" — did you mean service_unavailable?',
    });
    const other = { file: fixture, line: 1, column: 0, message: 'seed: expected a number' };
    expect(explainUnknownFault(other, text, FAULT_IDS)).toBe(other);
  });
});
