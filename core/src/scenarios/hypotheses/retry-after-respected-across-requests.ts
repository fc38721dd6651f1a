/** retry_after_respected_across_requests: once a deployment asked to wait, no request starts an attempt on it early. */
import { byExamples, defineCheck, inconclusive } from './check.ts';
import { ms, retryAfterOf } from './select.ts';

/**
 * Across requests: once a deployment answered with a Retry-After, no attempt on it — from any request,
 * probes and hedges included — starts before that wait is over. Attempts of other requests count
 * from strictly after the throttled answer (one started at the same instant may not have seen it).
 */
export const retryAfterRespectedAcrossRequests = defineCheck(
  { type: 'retry_after_respected_across_requests', needs: 'upstream-calls' },
  (h, selected) => {
    const summary =
      'no attempt on a deployment starts before a Retry-After it gave allowed, from any request';
    const expected = `every attempt on a deployment waits out its earlier Retry-After${h.toleranceMs ? ` (±${ms(h.toleranceMs)})` : ''}`;
    type Throttle = { at: number; until: number; request: string; index: number };
    const throttles = new Map<string, Throttle[]>();
    for (const r of selected) {
      r.attempts.forEach((a, index) => {
        const wait = retryAfterOf(a);
        if (wait === undefined || (h.deployment && a.deployment !== h.deployment)) return;
        const list = throttles.get(a.deployment) ?? [];
        list.push({ at: a.endMs, until: a.endMs + wait, request: r.id, index });
        throttles.set(a.deployment, list);
      });
    }
    if (throttles.size === 0)
      return inconclusive(summary, expected, 'no attempt was answered with a Retry-After');
    // Per deployment: throttles by time, with the latest `until` seen so far.
    const sorted = new Map<string, { at: number[]; until: Throttle[] }>();
    for (const [deployment, list] of throttles) {
      list.sort((a, b) => a.at - b.at);
      const untilSoFar: Throttle[] = [];
      for (const t of list)
        untilSoFar.push(untilSoFar.at(-1) && untilSoFar.at(-1)!.until > t.until ? untilSoFar.at(-1)! : t);
      sorted.set(deployment, { at: list.map((t) => t.at), until: untilSoFar });
    }
    let checked = 0;
    let worstEarlyMs = 0;
    const bad: string[] = [];
    for (const r of selected) {
      r.attempts.forEach((b, index) => {
        const on = sorted.get(b.deployment);
        if (!on || b.startMs < on.at[0]!) return;
        checked++;
        // The latest-ending wait among throttled answers strictly before this attempt started.
        let lo = 0;
        let hi = on.at.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (on.at[mid]! < b.startMs) lo = mid + 1;
          else hi = mid;
        }
        let early = lo > 0 ? on.until[lo - 1]!.until - b.startMs : 0;
        // This request's own earlier throttled attempts on the deployment count even at the same instant.
        for (const t of throttles.get(b.deployment)!)
          if (t.request === r.id && t.index < index) early = Math.max(early, t.until - b.startMs);
        if (early > h.toleranceMs) {
          worstEarlyMs = Math.max(worstEarlyMs, early);
          if (!bad.includes(r.id)) bad.push(r.id);
        }
      });
    }
    const count = [...throttles.values()].reduce((n, list) => n + list.length, 0);
    return byExamples(
      summary,
      expected,
      bad,
      `${checked} attempts on deployments after they asked to wait (${count} Retry-Afters), none early`,
      `${bad.length} requests started an attempt early (worst: ${ms(worstEarlyMs)} early) of ${checked} attempts after ${count} Retry-Afters`,
    );
  },
);
