/** breaker_thrash: a breaker does not open and close over and over within one fault window. */
import { byProblems, defineCheck, INTERNALS, inconclusive } from './check.ts';
import { deploymentsOf, ms } from './select.ts';

/** Per fault window, how many times a breaker opened (from closed, or again after a failed probe). */
export const breakerThrash = defineCheck(
  { type: 'breaker_thrash', needs: 'internals', reads: INTERNALS.breakers },
  (h, selected, parts) => {
    const summary = `a breaker opens at most ${h.atMost} times per fault window`;
    const expected = `≤ ${h.atMost} opens per deployment per fault window`;
    if (parts.faultWindows.length === 0) return inconclusive(summary, expected, 'no fault window');
    let total = 0;
    let worst = { opens: 0, deployment: '', window: '' };
    const problems: string[] = [];
    for (const deployment of deploymentsOf(selected, parts, h.deployment)) {
      const opens = parts.breakerTransitions.filter((t) => t.deployment === deployment && t.to === 'open');
      for (const w of parts.faultWindows) {
        const count = opens.filter((t) => t.atMs >= w.fromMs && t.atMs < w.toMs + h.grace).length;
        total += count;
        const where = `${w.ruleId} ${ms(w.fromMs)}–${ms(w.toMs)}`;
        if (count > worst.opens) worst = { opens: count, deployment, window: where };
        if (count > h.atMost) problems.push(`${deployment}: ${count} opens in ${where}`);
      }
    }
    if (total === 0) return inconclusive(summary, expected, 'no breaker opened during a fault window');
    return byProblems(
      summary,
      expected,
      problems,
      `at most ${worst.opens} opens (${worst.deployment}, ${worst.window}); ${total} in all`,
    );
  },
);
