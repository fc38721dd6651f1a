/** no_duplicated_text: a stream never delivers the same text twice after a mid-stream failure. */
import { defineCheck, inconclusive } from './check.ts';

/**
 * The caller's text must be exactly what one attempt delivered: text from two attempts, or more than
 * the router says it delivered, is text sent twice. Compares the harness's own view of what the caller
 * received (characters and hash) with the router's per-attempt account; a stream the router gave no
 * account of is no evidence. Only a stream that had a second attempt (a retry, a fallback) or failed
 * after its first token could have duplicated anything: without one, nothing was tested.
 */
export const noDuplicatedText = defineCheck(
  { type: 'no_duplicated_text', needs: 'upstream-calls' },
  (_h, selected) => {
    const summary = 'no text is delivered twice after a mid-stream failure';
    const expected = "every stream's text is exactly what one attempt delivered";
    const streams = selected.filter((r) => r.stream && !r.hung);
    if (streams.length === 0)
      return { ...inconclusive(summary, expected, 'no streamed request'), noTraffic: true };
    const bad: string[] = [];
    const reasons = new Set<string>();
    let accounted = 0;
    let atRiskStreams = 0;
    let atRiskUnaccounted = 0;
    for (const r of streams) {
      const received = r.streamedChars ?? 0;
      const atRisk = (r.outcome === 'error' && received > 0) || r.attempts.length > 1;
      if (r.duplicatedText !== undefined) {
        // --against: seen from the provider side (more text than the longest upstream answer).
        accounted++;
        if (atRisk) atRiskStreams++;
        if (r.duplicatedText) {
          bad.push(r.id);
          reasons.add('more text than any single upstream answer');
        }
        continue;
      }
      if (r.deliveredChars === undefined) {
        if (atRisk) atRiskUnaccounted++;
        continue;
      }
      accounted++;
      const delivering = r.attempts.filter((a) => (a.deliveredChars ?? 0) > 0);
      if (atRisk) atRiskStreams++;
      const problem =
        delivering.length > 1
          ? `text from ${delivering.length} attempts`
          : r.deliveredChars !== received ||
              (r.deliveredHash !== undefined && r.deliveredHash !== r.streamedHash)
            ? 'the caller got other text than the router says it delivered'
            : delivering.length === 0
              ? received > 0
                ? 'text no attempt delivered'
                : undefined
              : delivering[0]!.deliveredChars !== received ||
                  (delivering[0]!.deliveredHash !== undefined &&
                    delivering[0]!.deliveredHash !== r.streamedHash)
                ? "the caller's text is not the delivering attempt's"
                : undefined;
      if (problem) {
        bad.push(r.id);
        reasons.add(problem);
      }
    }
    if (bad.length > 0)
      return {
        summary,
        verdict: 'failed',
        expected,
        actual: `${bad.length} of ${streams.length} streams: ${[...reasons].join('; ')}`,
        examples: bad,
      };
    if (accounted === 0)
      return inconclusive(
        summary,
        expected,
        `the router recorded no delivered text for any of ${streams.length} streams (trace deliveredChars/deliveredHash)`,
      );
    if (atRiskStreams === 0)
      return inconclusive(
        summary,
        expected,
        atRiskUnaccounted > 0
          ? `${atRiskUnaccounted} streams were retried, fell back or failed mid-way, but the router recorded no delivered text for them`
          : `no stream was retried, fell back, or failed after its first token (${streams.length} streams)`,
      );
    return {
      summary,
      verdict: 'passed',
      expected,
      actual: `${atRiskStreams} streams retried, fell back or failed mid-way; every stream's text is one attempt's (${accounted} checked)`,
      examples: [],
    };
  },
);
