/** fallback_path: the share of selected requests that end up on the expected deployment or path. */
import type { RequestRecord } from '../journal.ts';
import { defineCheck, empty, judged } from './check.ts';
import { pathOf, pct } from './select.ts';

export const fallbackPath = defineCheck({ type: 'fallback_path', needs: 'upstream-calls' }, (h, selected) => {
  const target = h.path ? h.path.join(' → ') : h.deployment ? `ending on ${h.deployment}` : 'a fallback';
  const summary = `matching requests follow ${target}`;
  const expected = `≥ ${pct(h.atLeast)} of matching requests`;
  if (selected.length === 0) return empty(summary, expected);
  const follows = (r: RequestRecord) => {
    if (h.path) {
      const path = pathOf(r);
      return (
        r.outcome === 'success' && path.length === h.path.length && path.every((d, i) => d === h.path![i])
      );
    }
    if (h.deployment) return r.outcome === 'success' && r.finalDeployment === h.deployment;
    return r.fellBack;
  };
  const off = selected.filter((r) => !follows(r));
  const share = (selected.length - off.length) / selected.length;
  return {
    summary,
    verdict: judged(share >= h.atLeast),
    expected,
    actual: `${pct(share)} (${selected.length - off.length}/${selected.length})${
      off[0] ? `; e.g. ${pathOf(off[0]).join(' → ') || '(no attempt)'} (${off[0].outcome})` : ''
    }`,
    examples: off.map((r) => r.id),
  };
});
