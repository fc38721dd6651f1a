/** breaker_recovers_with_single_probe: a half-open breaker lets exactly one probe through, and (mustClose) closes again. */
import { byProblems, defineCheck, INTERNALS, inconclusive } from './check.ts';
import { deploymentsOf, ms } from './select.ts';

export const breakerRecoversWithSingleProbe = defineCheck(
  { type: 'breaker_recovers_with_single_probe', needs: 'internals', reads: INTERNALS.breakers },
  (h, selected, parts) => {
    const summary = 'an open breaker recovers through a single probe';
    const expected = `one attempt per half-open period${h.mustClose ? ', every opened breaker closed again' : ''}`;
    const problems: string[] = [];
    const examples: string[] = [];
    let opened = 0;
    let halfOpenPeriods = 0;
    for (const deployment of deploymentsOf(selected, parts, h.deployment)) {
      const transitions = parts.breakerTransitions.filter((t) => t.deployment === deployment);
      if (!transitions.some((t) => t.to === 'open')) continue;
      opened++;
      transitions.forEach((t, i) => {
        if (t.to !== 'half-open') return;
        halfOpenPeriods++;
        const until = transitions[i + 1]?.atMs ?? Number.POSITIVE_INFINITY;
        const probes = selected.filter((r) =>
          r.attempts.some((a) => a.deployment === deployment && a.startMs >= t.atMs && a.startMs < until),
        );
        if (probes.length > 1) {
          problems.push(`${deployment}: ${probes.length} attempts while half-open at ${ms(t.atMs)}`);
          examples.push(...probes.map((r) => r.id));
        }
      });
      const last = transitions.at(-1)!;
      if (h.mustClose && last.to !== 'closed') problems.push(`${deployment}: still ${last.to} at the end`);
    }
    if (opened === 0) return inconclusive(summary, expected, 'no breaker opened');
    if (problems.length === 0 && halfOpenPeriods === 0)
      return inconclusive(summary, expected, `${opened} breakers opened but none went half-open`);
    return byProblems(
      summary,
      expected,
      problems,
      `${opened} breakers opened, ${halfOpenPeriods} half-open periods, each with a single probe`,
      [...new Set(examples)],
    );
  },
);
