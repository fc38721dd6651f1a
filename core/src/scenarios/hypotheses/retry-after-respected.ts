/** retry_after_respected: within one request, no attempt on a deployment before the Retry-After it gave. */
import { byExamples, defineCheck, inconclusive } from './check.ts';
import { ms, retryAfterOf } from './select.ts';

/** Within one request: an attempt after a throttled one on the same deployment waits what it was asked. */
export const retryAfterRespected = defineCheck(
  { type: 'retry_after_respected', needs: 'upstream-calls' },
  (h, selected) => {
    const summary = 'no attempt earlier than a Retry-After allowed';
    const expected = `every retry after a Retry-After starts no earlier than allowed${h.toleranceMs ? ` (±${ms(h.toleranceMs)})` : ''}`;
    let checked = 0;
    let worstEarlyMs = 0;
    const bad: string[] = [];
    for (const r of selected) {
      r.attempts.forEach((a, i) => {
        const wait = retryAfterOf(a);
        if (wait === undefined) return;
        // The next attempt of this request on the same deployment (a retry, or a later return to it).
        const next = r.attempts.slice(i + 1).find((b) => b.deployment === a.deployment && !b.hedge);
        if (!next) return;
        checked++;
        const early = a.endMs + wait - next.startMs;
        if (early > h.toleranceMs) {
          worstEarlyMs = Math.max(worstEarlyMs, early);
          if (!bad.includes(r.id)) bad.push(r.id);
        }
      });
    }
    if (checked === 0)
      return inconclusive(
        summary,
        expected,
        'no request tried a deployment again after it answered with a Retry-After',
      );
    return byExamples(
      summary,
      expected,
      bad,
      `${checked} retries after a Retry-After, all on time`,
      `${bad.length} requests retried early (worst: ${ms(worstEarlyMs)} early) of ${checked} checked`,
    );
  },
);
