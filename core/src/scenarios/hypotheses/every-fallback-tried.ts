/** every_fallback_tried: a request fails only after its whole chain was tried or skipped for a reason. */
import { ERROR_KIND_DEFAULTS } from '../../runtime/errors.ts';
import { byExamples, defineCheck, INTERNALS, inconclusive } from './check.ts';
import { chainOf, specialChainsOf } from './select.ts';

/**
 * A failed request must have tried, or skipped for a stated reason (breaker open, cooldown, budget,
 * context window), every deployment of its chain. Exempt: an error no deployment can fix (not
 * fallbackable by nature: a bad request, a cancel), a stream that failed after its first token (it is
 * committed), and the total deadline (no_deadline_death_with_healthy_fallback judges those).
 */
export const everyFallbackTried = defineCheck(
  { type: 'every_fallback_tried', needs: 'internals', reads: INTERNALS.chain },
  (_h, selected, parts) => {
    const summary =
      'a request fails only after every deployment of its chain was tried or skipped for a reason';
    const expected = 'no failed request with an untried, unskipped deployment in its chain';
    let considered = 0;
    const bad: string[] = [];
    const missed = new Set<string>();
    for (const r of selected) {
      if (r.outcome !== 'error' || r.hung || r.timeoutPhase === 'total') continue;
      if (r.stream && (r.streamedChars ?? 0) > 0) continue;
      const kind = r.errorKind ?? r.attempts.at(-1)?.errorKind;
      if (kind && !ERROR_KIND_DEFAULTS[kind].fallbackable) continue;
      const chain = [...new Set([...chainOf(parts.config, r.route), ...specialChainsOf(parts.config, r)])];
      if (chain.length < 2) continue;
      considered++;
      const reached = new Set([
        ...r.attempts.map((a) => a.deployment),
        ...r.skipped.map((s) => s.deployment),
      ]);
      const missing = chain.filter((d) => !reached.has(d));
      if (missing.length > 0) {
        bad.push(r.id);
        for (const d of missing) missed.add(d);
      }
    }
    if (considered === 0)
      return inconclusive(summary, expected, 'no request failed with a fallback left in its chain to try');
    return byExamples(
      summary,
      expected,
      bad,
      `${considered} failed requests, each after its whole chain`,
      `${bad.length} of ${considered} failed requests never reached ${[...missed].join(', ')}`,
    );
  },
);
