/** no_deadline_death_with_healthy_fallback: no request dies at its total deadline while an untried fallback was answering. */
import { byExamples, defineCheck, INTERNALS, inconclusive } from './check.ts';
import { chainOf } from './select.ts';

/**
 * A request that died at its total deadline must not have left untouched a deployment of its chain
 * that was answering meanwhile (an attempt of any request succeeded on it while this one ran).
 * Evidence: requests that had to leave a deployment (a failed attempt) with a fallback in their chain.
 */
export const noDeadlineDeathWithHealthyFallback = defineCheck(
  { type: 'no_deadline_death_with_healthy_fallback', needs: 'internals', reads: INTERNALS.deadlines },
  (_h, selected, parts) => {
    const summary = 'no request dies at its total deadline while a fallback was healthy';
    const expected = 'no total-deadline death with an untried, answering deployment in the chain';
    const successes = new Map<string, number[]>();
    for (const r of parts.requests)
      for (const a of r.attempts)
        if (a.outcome === 'success') {
          const list = successes.get(a.deployment) ?? [];
          list.push(a.endMs);
          successes.set(a.deployment, list);
        }
    let atRisk = 0;
    let deaths = 0;
    const bad: string[] = [];
    const healthyMissed = new Set<string>();
    for (const r of selected) {
      if (r.hung) continue;
      const chain = chainOf(parts.config, r.route);
      if (chain.length < 2) continue;
      const diedAtDeadline = r.outcome === 'error' && r.timeoutPhase === 'total';
      if (!diedAtDeadline && !r.attempts.some((a) => a.outcome !== 'success')) continue;
      atRisk++;
      if (!diedAtDeadline) continue;
      deaths++;
      const reached = new Set([
        ...r.attempts.map((a) => a.deployment),
        ...r.skipped.map((s) => s.deployment),
      ]);
      const healthy = chain.filter(
        (d) => !reached.has(d) && (successes.get(d) ?? []).some((t) => t >= r.startMs && t <= r.endMs),
      );
      if (healthy.length > 0) {
        bad.push(r.id);
        for (const d of healthy) healthyMissed.add(d);
      }
    }
    if (atRisk === 0)
      return inconclusive(
        summary,
        expected,
        'no request had to leave a deployment with a fallback in its chain',
      );
    return byExamples(
      summary,
      expected,
      bad,
      `${deaths} total-deadline deaths of ${atRisk} requests that had to leave a deployment, none with a healthy fallback untried`,
      `${bad.length} requests died at their total deadline while ${[...healthyMissed].join(', ')} answered others`,
    );
  },
);
