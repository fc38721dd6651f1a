/** recovery_time: after the last fault window, the success rate is back above a threshold within a time. */
import { defineCheck, inconclusive, judged } from './check.ts';
import { matches, ms, pct } from './select.ts';

export const recoveryTime = defineCheck(
  { type: 'recovery_time', needs: 'requests' },
  (h, _selected, parts) => {
    const summary = `success rate back ≥ ${pct(h.threshold)} within ${ms(h.atMost)} after the fault window`;
    const expected = `≤ ${ms(h.atMost)}`;
    if (parts.faultWindows.length === 0)
      return inconclusive(summary, expected, 'no fault window (nothing to recover from)');
    const end = Math.max(...parts.faultWindows.map((w) => w.toMs));
    const after = parts.requests.filter((r) => r.startMs >= end && matches(r, h.where));
    if (after.length === 0)
      return inconclusive(
        summary,
        expected,
        end >= parts.durationMs
          ? 'the fault window lasts until the end of the run'
          : 'no requests after the fault window',
      );
    const buckets = new Map<number, { ok: number; all: number; failed: string[] }>();
    for (const r of after) {
      const k = Math.floor((r.startMs - end) / h.bucket);
      const b = buckets.get(k) ?? { ok: 0, all: 0, failed: [] };
      b.all++;
      if (r.outcome === 'success') b.ok++;
      else b.failed.push(r.id);
      buckets.set(k, b);
    }
    const keys = [...buckets.keys()].sort((a, b) => a - b);
    // Recovered from the first bucket after which no bucket falls below the threshold again.
    let recoveredAt: number | undefined;
    for (let i = keys.length - 1; i >= 0; i--) {
      const b = buckets.get(keys[i]!)!;
      if (b.ok / b.all < h.threshold) break;
      recoveredAt = keys[i]!;
    }
    const failedBefore = keys
      .filter((k) => recoveredAt === undefined || k < recoveredAt)
      .flatMap((k) => buckets.get(k)!.failed);
    if (recoveredAt === undefined)
      return {
        summary,
        verdict: 'failed',
        expected,
        actual: `not recovered by the end of the run (${ms(parts.durationMs - end)} after the window)`,
        examples: failedBefore,
      };
    const recovery = recoveredAt * h.bucket;
    return {
      summary,
      verdict: judged(recovery <= h.atMost),
      expected,
      actual: `${ms(recovery)} (buckets of ${ms(h.bucket)})`,
      examples: recovery <= h.atMost ? [] : failedBefore,
    };
  },
);
