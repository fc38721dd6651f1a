/** wasted_spend: money spent on attempts whose answer nobody got (failed, hedge losers, retried). */
import { defineCheck, empty, INTERNALS, judged } from './check.ts';
import { pct, usd } from './select.ts';

export const wastedSpend = defineCheck(
  { type: 'wasted_spend', needs: 'internals', reads: INTERNALS.spend },
  (h, selected) => {
    const wasted = selected.reduce((sum, r) => sum + r.wastedUsd, 0);
    const total = selected.reduce((sum, r) => sum + r.costUsd, 0);
    const share = total > 0 ? wasted / total : 0;
    const limits: string[] = [];
    let passed = true;
    if (h.atMostUsd !== undefined) {
      limits.push(`≤ ${usd(h.atMostUsd)}`);
      passed &&= wasted <= h.atMostUsd;
    }
    if (h.atMostShare !== undefined) {
      limits.push(`≤ ${pct(h.atMostShare)} of spend`);
      passed &&= share <= h.atMostShare;
    }
    const expected = limits.join(' and ') || 'reported only';
    const summary = `wasted spend ${expected}`;
    if (selected.length === 0) return empty(summary, expected);
    return {
      summary,
      verdict: judged(passed),
      expected,
      actual: `${usd(wasted)} (${pct(share)} of ${usd(total)})`,
      examples: selected
        .filter((r) => r.wastedUsd > 0)
        .sort((a, b) => b.wastedUsd - a.wastedUsd)
        .map((r) => r.id),
    };
  },
);
