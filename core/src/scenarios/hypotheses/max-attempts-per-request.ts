/** max_attempts_per_request: no request made more attempts (upstream calls) than allowed. */
import { defineCheck, empty, judged } from './check.ts';

export const maxAttemptsPerRequest = defineCheck(
  { type: 'max_attempts_per_request', needs: 'upstream-calls' },
  (h, selected) => {
    const summary = `at most ${h.atMost} attempts per request`;
    const expected = `≤ ${h.atMost}`;
    if (selected.length === 0) return empty(summary, expected);
    const most = selected.reduce((max, r) => Math.max(max, r.attempts.length), 0);
    return {
      summary,
      verdict: judged(most <= h.atMost),
      expected,
      actual: `max ${most} over ${selected.length} requests`,
      examples: selected.filter((r) => r.attempts.length > h.atMost).map((r) => r.id),
    };
  },
);
