/** latency: a percentile of latency or time to first token, as the caller saw it. */
import type { RequestRecord } from '../journal.ts';
import { defineCheck, empty, inconclusive, judged } from './check.ts';
import { ms, percentile } from './select.ts';

export const latency = defineCheck({ type: 'latency', needs: 'requests' }, (h, selected) => {
  const metric = h.metric === 'ttft' ? 'TTFT' : 'latency';
  const summary = `${h.percentile} ${metric} ≤ ${ms(h.atMost)}`;
  const expected = `≤ ${ms(h.atMost)}`;
  const pool = h.successesOnly ? selected.filter((r) => r.outcome === 'success') : selected;
  if (selected.length === 0) return empty(summary, expected);
  if (pool.length === 0)
    return inconclusive(summary, expected, `none of ${selected.length} requests succeeded`);
  const metricOf = (r: RequestRecord) => (h.metric === 'ttft' ? (r.ttftMs ?? r.latencyMs) : r.latencyMs);
  const value = percentile(pool.map(metricOf), Number(h.percentile.slice(1)));
  return {
    summary,
    verdict: judged(value <= h.atMost),
    expected,
    actual: `${ms(value)} over ${pool.length} requests`,
    examples: pool
      .filter((r) => metricOf(r) > h.atMost)
      .sort((a, b) => metricOf(b) - metricOf(a))
      .map((r) => r.id),
  };
});
