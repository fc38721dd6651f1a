/** cost_per_success: what the router spent per successful request (its own pricing of the usage). */
import { defineCheck, empty, INTERNALS, inconclusive, judged } from './check.ts';
import { usd } from './select.ts';

export const costPerSuccess = defineCheck(
  { type: 'cost_per_success', needs: 'internals', reads: INTERNALS.spend },
  (h, selected) => {
    const summary = `cost per success ≤ ${usd(h.atMostUsd)}`;
    const expected = `≤ ${usd(h.atMostUsd)}`;
    if (selected.length === 0) return empty(summary, expected);
    const successes = selected.filter((r) => r.outcome === 'success').length;
    const total = selected.reduce((sum, r) => sum + r.costUsd, 0);
    if (successes === 0) {
      if (total === 0) return inconclusive(summary, expected, 'no request succeeded and nothing was spent');
      return {
        summary,
        verdict: 'failed',
        expected,
        actual: `no success (spent ${usd(total)})`,
        examples: [],
      };
    }
    const value = total / successes;
    return {
      summary,
      verdict: judged(value <= h.atMostUsd),
      expected,
      actual: `${usd(value)} (${usd(total)} over ${successes} successes)`,
      examples: [...selected].sort((a, b) => b.costUsd - a.costUsd).map((r) => r.id),
    };
  },
);
