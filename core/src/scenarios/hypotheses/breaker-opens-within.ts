/** breaker_opens_within: a closed breaker opens within N consecutive counted failures. */
import type { ErrorKind } from '../../runtime/errors.ts';
import { DEFAULT_BREAKER_COUNT_KINDS } from '../../runtime/policies/breaker.ts';
import { defineCheck, INTERNALS, inconclusive, judged } from './check.ts';
import { deploymentsOf } from './select.ts';

export const breakerOpensWithin = defineCheck(
  { type: 'breaker_opens_within', needs: 'internals', reads: INTERNALS.breakers },
  (h, selected, parts) => {
    const kinds = new Set<ErrorKind>(
      h.kinds ?? parts.config.policies.breaker.countKinds ?? DEFAULT_BREAKER_COUNT_KINDS,
    );
    const summary = `breaker opens within ${h.failures} consecutive failures`;
    const expected = `≤ ${h.failures} consecutive failures on a closed breaker`;
    let longest = 0;
    let longestOn = '';
    let opened = 0;
    const examples: string[] = [];
    for (const deployment of deploymentsOf(selected, parts, h.deployment)) {
      // Attempts by end time and transitions, in time order; at the same instant the attempt's outcome
      // comes first (the breaker records it after the attempt ended).
      type Event = { at: number; order: number; failure?: boolean; to?: string; id?: string };
      const events: Event[] = [];
      for (const r of selected) {
        for (const a of r.attempts) {
          if (a.deployment !== deployment || a.outcome === 'aborted') continue;
          const failure = a.outcome === 'error' && a.errorKind !== undefined && kinds.has(a.errorKind);
          if (a.outcome === 'error' && !failure) continue;
          events.push({ at: a.endMs, order: 0, failure, id: r.id });
        }
      }
      for (const t of parts.breakerTransitions)
        if (t.deployment === deployment) {
          events.push({ at: t.atMs, order: 1, to: t.to });
          if (t.to === 'open') opened++;
        }
      events.sort((a, b) => a.at - b.at || a.order - b.order);
      let state = 'closed';
      let streak: string[] = [];
      for (const event of events) {
        if (event.to) {
          state = event.to;
          streak = [];
          continue;
        }
        if (state !== 'closed') continue;
        if (!event.failure) {
          streak = [];
          continue;
        }
        streak.push(event.id!);
        if (streak.length > longest) {
          longest = streak.length;
          longestOn = deployment;
        }
        if (streak.length === h.failures + 1) examples.push(...streak.slice(-2));
      }
    }
    if (longest < h.failures && opened === 0)
      return inconclusive(
        summary,
        expected,
        longest === 0
          ? 'no counted failure on a closed breaker, and no breaker opened'
          : `at most ${longest} failures in a row on a closed breaker (fewer than ${h.failures}), and no breaker opened`,
      );
    return {
      summary,
      verdict: judged(longest <= h.failures),
      expected,
      actual: `longest run: ${longest} failures${longestOn ? ` on ${longestOn}` : ''} while its breaker stayed closed; ${opened} opens`,
      examples: [...new Set(examples)],
    };
  },
);
