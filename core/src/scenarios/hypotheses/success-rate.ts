/** success_rate: the share of selected requests that succeeded. */
import { defineCheck, empty, judged } from './check.ts';
import { pct } from './select.ts';

export const successRate = defineCheck({ type: 'success_rate', needs: 'requests' }, (h, selected) => {
  const summary = `success rate ≥ ${pct(h.atLeast)}`;
  const expected = `≥ ${pct(h.atLeast)}`;
  if (selected.length === 0) return empty(summary, expected);
  const failures = selected.filter((r) => r.outcome !== 'success');
  const rate = (selected.length - failures.length) / selected.length;
  return {
    summary,
    verdict: judged(rate >= h.atLeast),
    expected,
    actual: `${pct(rate)} (${selected.length - failures.length}/${selected.length})`,
    examples: failures.map((r) => r.id),
  };
});
