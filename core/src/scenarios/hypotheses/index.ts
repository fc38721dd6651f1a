/**
 * The hypotheses: one check per file, each declaring what it needs to see (check.ts), and here the
 * one place that decides what a target could not show: a hypothesis whose need the target cannot
 * meet is reported not observable and never passes, whatever the check would have said.
 */
import type { HypothesisResult, RunJournal } from '../journal.ts';
import type { Hypothesis, Scenario } from '../schema.ts';
import { breakerOpensWithin } from './breaker-opens-within.ts';
import { breakerRecoversWithSingleProbe } from './breaker-recovers-with-single-probe.ts';
import { breakerThrash } from './breaker-thrash.ts';
import { budgetNeverExceeded } from './budget-never-exceeded.ts';
import { type Check, type JournalParts, MAX_EXAMPLES, type Need, type Outcome } from './check.ts';
import { costPerSuccess } from './cost-per-success.ts';
import { everyFallbackTried } from './every-fallback-tried.ts';
import { fallbackPath } from './fallback-path.ts';
import { latency } from './latency.ts';
import { maxAttemptsPerRequest } from './max-attempts-per-request.ts';
import { noDeadlineDeathWithHealthyFallback } from './no-deadline-death.ts';
import { noDuplicatedText } from './no-duplicated-text.ts';
import { noRequestLeftHanging } from './no-request-left-hanging.ts';
import { nonRetryableNotRetried } from './non-retryable-not-retried.ts';
import { recoveryTime } from './recovery-time.ts';
import { retriesSpread } from './retries-spread.ts';
import { retryAfterRespected } from './retry-after-respected.ts';
import { retryAfterRespectedAcrossRequests } from './retry-after-respected-across-requests.ts';
import { inPhase, matches } from './select.ts';
import { successRate } from './success-rate.ts';
import { wastedSpend } from './wasted-spend.ts';

export type { Check, JournalParts, Need } from './check.ts';
export { chainOf, inPhase, pathOf, percentile, retryAfterOf } from './select.ts';

export const CHECKS: { readonly [T in Hypothesis['type']]: Check<T> } = {
  success_rate: successRate,
  latency,
  cost_per_success: costPerSuccess,
  wasted_spend: wastedSpend,
  max_attempts_per_request: maxAttemptsPerRequest,
  retry_after_respected: retryAfterRespected,
  retry_after_respected_across_requests: retryAfterRespectedAcrossRequests,
  non_retryable_not_retried: nonRetryableNotRetried,
  breaker_opens_within: breakerOpensWithin,
  breaker_recovers_with_single_probe: breakerRecoversWithSingleProbe,
  breaker_thrash: breakerThrash,
  fallback_path: fallbackPath,
  no_duplicated_text: noDuplicatedText,
  budget_never_exceeded: budgetNeverExceeded,
  recovery_time: recoveryTime,
  every_fallback_tried: everyFallbackTried,
  no_deadline_death_with_healthy_fallback: noDeadlineDeathWithHealthyFallback,
  no_request_left_hanging: noRequestLeftHanging,
  retries_spread: retriesSpread,
};

/**
 * What a target cannot show, by need, and why. `partly`: it showed some of it (upstream calls it
 * could tie to a request, not all): the check's finding over what was seen is kept beside the why.
 */
export type Unseen = Partial<Record<Need, { why: string; partly?: true }>>;

export const NOT_OBSERVABLE_PREFIX = 'not observable';

/** Checks every hypothesis of the scenario against a run, on a target that could not show `unseen`. */
export function evaluateHypotheses(
  scenario: Pick<Scenario, 'hypotheses' | 'hypothesisLines'>,
  parts: JournalParts,
  unseen: Unseen = {},
): HypothesisResult[] {
  return scenario.hypotheses.map((hypothesis, index) => {
    const check = CHECKS[hypothesis.type] as Check;
    const outcome = evaluate(check, hypothesis, parts);
    const line = scenario.hypothesisLines?.[index];
    const phaseNote = hypothesis.phase === 'overall' ? '' : ` (${hypothesis.phase} the fault window)`;
    const allowed =
      hypothesis.allowInconclusive === true ||
      (hypothesis.allowInconclusive === 'without-traffic' && outcome.noTraffic === true);
    const result: HypothesisResult = {
      id: hypothesis.id ?? `${index}:${hypothesis.type}`,
      kind: hypothesis.type,
      description: hypothesis.description ?? `${outcome.summary}${phaseNote}`,
      ...(line !== undefined ? { line } : {}),
      phase: hypothesis.phase,
      verdict: outcome.verdict,
      ...(allowed ? { allowInconclusive: true as const } : {}),
      passed: outcome.verdict === 'passed' || (outcome.verdict === 'inconclusive' && allowed),
      spec: { ...hypothesis },
      expected: outcome.expected,
      actual: outcome.actual,
      examples: outcome.examples.slice(0, MAX_EXAMPLES),
    };
    const blind = unseen[check.needs];
    if (!blind) return result;
    // A harness that cannot see something must not report it as proven.
    const what = check.reads ? ` (${check.reads})` : '';
    return {
      ...result,
      verdict: 'inconclusive',
      passed: false,
      evaluable: false,
      actual: `${NOT_OBSERVABLE_PREFIX}: ${blind.why}${what}${blind.partly ? `; over the rest: ${result.actual}` : ''}`,
      examples: blind.partly ? result.examples : [],
    };
  });
}

function evaluate(check: Check, h: Hypothesis, parts: JournalParts): Outcome {
  const selected = inPhase(parts.requests, parts.faultWindows, h.phase).filter((r) => matches(r, h.where));
  const outcome = check.evaluate(h as never, selected, parts);
  return outcome.verdict === 'inconclusive' && selected.length === 0
    ? { ...outcome, noTraffic: true }
    : outcome;
}

/** The run's verdict from its hypotheses: an inconclusive one fails it unless the scenario allowed it. */
export function runVerdict(
  complete: boolean,
  hypotheses: readonly HypothesisResult[],
): RunJournal['verdict'] {
  if (!complete) return 'incomplete';
  return hypotheses.every((h) => h.passed) ? 'passed' : 'failed';
}
