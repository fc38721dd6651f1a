import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crlf, looksLikeScenario, outlineScenario, verdicts } from '../../extension/src/scenarios/model.ts';

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
});
