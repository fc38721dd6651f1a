/** retries_spread: retries are spread out in time (no retry storm): at most N start within any window. */
import { defineCheck, inconclusive, judged } from './check.ts';
import { ms } from './select.ts';

export const retriesSpread = defineCheck(
  { type: 'retries_spread', needs: 'upstream-calls' },
  (h, selected) => {
    const summary = `at most ${h.atMost} retries start within any ${ms(h.window)}`;
    const expected = `≤ ${h.atMost} per ${ms(h.window)}`;
    const starts: Array<{ at: number; id: string }> = [];
    for (const r of selected) {
      r.attempts.forEach((a, i) => {
        if (i > 0 && r.attempts[i - 1]!.next === 'retry') starts.push({ at: a.startMs, id: r.id });
      });
    }
    if (starts.length === 0) return inconclusive(summary, expected, 'no retries');
    starts.sort((a, b) => a.at - b.at);
    let best = 0;
    let bestFrom = 0;
    for (let lo = 0, hi = 0; hi < starts.length; hi++) {
      while (starts[hi]!.at - starts[lo]!.at >= h.window) lo++;
      if (hi - lo + 1 > best) {
        best = hi - lo + 1;
        bestFrom = lo;
      }
    }
    return {
      summary,
      verdict: judged(best <= h.atMost),
      expected,
      actual: `max ${best} within ${ms(h.window)} (at ${ms(starts[bestFrom]!.at)}), ${starts.length} retries in all`,
      examples: best > h.atMost ? [...new Set(starts.slice(bestFrom, bestFrom + best).map((s) => s.id))] : [],
    };
  },
);
