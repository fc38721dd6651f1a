/** no_request_left_hanging: every request sent ends; none hangs past the drain. */
import { defineCheck, empty, inconclusive, judged } from './check.ts';

/** Every request sent ended: none hung, none missing from the journal. */
export const noRequestLeftHanging = defineCheck(
  { type: 'no_request_left_hanging', needs: 'requests' },
  (_h, selected, parts) => {
    const summary = 'every request sent ends';
    const expected = 'no request left in flight when the run drained';
    if (parts.requestsSent === undefined)
      return inconclusive(summary, expected, 'the journal does not say how many requests were sent');
    if (selected.length === 0) return empty(summary, expected);
    const hung = selected.filter((r) => r.hung);
    const missing = Math.max(0, parts.requestsSent - parts.requests.length);
    return {
      summary,
      verdict: judged(hung.length === 0 && missing === 0),
      expected,
      actual:
        hung.length === 0 && missing === 0
          ? `${selected.length} requests, all ended (${parts.requestsSent} sent)`
          : `${hung.length} requests never ended${missing ? `, ${missing} sent but not in the journal` : ''} (${parts.requestsSent} sent)`,
      examples: hung.map((r) => r.id),
    };
  },
);
