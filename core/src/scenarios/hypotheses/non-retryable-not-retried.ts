/** non_retryable_not_retried: an error no retry can fix (bad request, auth…) is never retried on the same deployment. */
import type { ErrorKind } from '../../runtime/errors.ts';
import { byExamples, defineCheck, inconclusive } from './check.ts';
import { defaultNonRetryableKinds } from './select.ts';

export const nonRetryableNotRetried = defineCheck(
  { type: 'non_retryable_not_retried', needs: 'upstream-calls' },
  (h, selected) => {
    const kinds = new Set<ErrorKind>(h.kinds ?? defaultNonRetryableKinds());
    const summary = 'a non-retryable error is never retried on the same deployment';
    const expected = `no retry after ${[...kinds].join(', ')}`;
    const bad: string[] = [];
    const seenKinds = new Set<string>();
    let failures = 0;
    for (const r of selected) {
      for (const a of r.attempts) {
        if (a.outcome !== 'error' || !a.errorKind || !kinds.has(a.errorKind)) continue;
        failures++;
        if (a.next === 'retry') {
          seenKinds.add(a.errorKind);
          if (!bad.includes(r.id)) bad.push(r.id);
        }
      }
    }
    if (failures === 0)
      return inconclusive(summary, expected, `no attempt failed with ${[...kinds].join(', ')}`);
    return byExamples(
      summary,
      expected,
      bad,
      `${failures} non-retryable failures, none retried`,
      `${bad.length} requests retried a non-retryable error (${[...seenKinds].join(', ')})`,
    );
  },
);
