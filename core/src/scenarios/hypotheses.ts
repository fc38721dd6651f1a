import type { RouterConfig } from '../runtime/config/schema.ts';
import { periodKey } from '../runtime/cost/budget.ts';
import { ERROR_KIND_DEFAULTS, ERROR_KINDS, type ErrorKind } from '../runtime/errors.ts';
import { DEFAULT_BREAKER_COUNT_KINDS } from '../runtime/policies/breaker.ts';
import type {
  AttemptSummary,
  FaultWindow,
  HypothesisResult,
  HypothesisVerdict,
  RequestRecord,
  RunJournal,
} from './journal.ts';
import type { Hypothesis, Phase, RequestFilter, Scenario } from './schema.ts';

/** What the hypotheses are checked against: the journal's data (hypotheses are computed from it). */
export interface JournalParts {
  requests: RequestRecord[];
  faultWindows: FaultWindow[];
  breakerTransitions: RunJournal['breakerTransitions'];
  durationMs: number;
  /** The router config the run used (budgets, breaker count kinds, route chains). */
  config: RouterConfig;
  /** Absolute clock time of the run's start, for budget periods (UTC minute/hour/day/month). */
  clockOriginMs?: number;
  /** Requests the load sent (a hung request is one sent that never ended). */
  requestsSent?: number;
}

const MAX_EXAMPLES = 5;

/** Checks every hypothesis of the scenario against a run. */
export function evaluateHypotheses(
  scenario: Pick<Scenario, 'hypotheses' | 'hypothesisLines'>,
  parts: JournalParts,
): HypothesisResult[] {
  return scenario.hypotheses.map((hypothesis, index) => {
    const outcome = evaluate(hypothesis, parts);
    const line = scenario.hypothesisLines?.[index];
    const phaseNote = hypothesis.phase === 'overall' ? '' : ` (${hypothesis.phase} the fault window)`;
    const allowed =
      hypothesis.allowInconclusive === true ||
      (hypothesis.allowInconclusive === 'without-traffic' && outcome.noTraffic === true);
    return {
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
  });
}

/** The run's verdict from its hypotheses: an inconclusive one fails it unless the scenario allowed it. */
export function runVerdict(
  complete: boolean,
  hypotheses: readonly HypothesisResult[],
): RunJournal['verdict'] {
  if (!complete) return 'incomplete';
  return hypotheses.every((h) => h.passed) ? 'passed' : 'failed';
}

interface Outcome {
  summary: string;
  verdict: HypothesisVerdict;
  /** Inconclusive because the hypothesis selected no request at all. */
  noTraffic?: true;
  expected: string;
  actual: string;
  examples: string[];
}

/** A hypothesis the run held no evidence for: neither proven nor refuted. */
const inconclusive = (summary: string, expected: string, why: string): Outcome => ({
  summary,
  verdict: 'inconclusive',
  expected,
  actual: `inconclusive: ${why}`,
  examples: [],
});

const judged = (ok: boolean): HypothesisVerdict => (ok ? 'passed' : 'failed');

/** Passed when nothing went wrong; else the problems are what was seen. */
const byProblems = (
  summary: string,
  expected: string,
  problems: string[],
  held: string,
  examples: string[] = [],
): Outcome => ({
  summary,
  verdict: judged(problems.length === 0),
  expected,
  actual: problems.length === 0 ? held : problems.join('; '),
  examples,
});

/** Passed when no request shows the failure; `held` or `broken` says what was seen either way. */
const byExamples = (
  summary: string,
  expected: string,
  bad: string[],
  held: string,
  broken: string,
): Outcome => ({
  summary,
  verdict: judged(bad.length === 0),
  expected,
  actual: bad.length === 0 ? held : broken,
  examples: bad,
});

// -----------------------------------------------------------------------------------------------
// Selection: phase and filter

/** Requests whose start falls in the phase; before/during/after refer to the union of fault windows. */
export function inPhase(requests: RequestRecord[], windows: FaultWindow[], phase: Phase): RequestRecord[] {
  if (phase === 'overall') return requests;
  if (windows.length === 0) return phase === 'before' ? requests : [];
  const first = Math.min(...windows.map((w) => w.fromMs));
  const last = Math.max(...windows.map((w) => w.toMs));
  const during = (t: number) => windows.some((w) => t >= w.fromMs && t < w.toMs);
  return requests.filter((r) =>
    phase === 'before' ? r.startMs < first : phase === 'after' ? r.startMs >= last : during(r.startMs),
  );
}

function matches(request: RequestRecord, filter: RequestFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.tags && !filter.tags.every((t) => request.tags.includes(t))) return false;
  if (filter.tenant !== undefined && request.tenant !== filter.tenant) return false;
  if (filter.route !== undefined && request.route !== filter.route) return false;
  if (filter.stream !== undefined && request.stream !== filter.stream) return false;
  return true;
}

// -----------------------------------------------------------------------------------------------
// Formatting

const pct = (x: number) => `${(x * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
const ms = (x: number) => `${Math.round(x)} ms`;
const usd = (x: number) => `$${x.toFixed(6)}`;

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const NO_TRAFFIC = 'no matching requests (the scenario selects no traffic here)';
const empty = (summary: string, expected: string): Outcome => inconclusive(summary, expected, NO_TRAFFIC);

/** Deployments tried, in order, with repeats from retries collapsed. */
export function pathOf(request: RequestRecord): string[] {
  const path: string[] = [];
  for (const attempt of request.attempts)
    if (path.at(-1) !== attempt.deployment) path.push(attempt.deployment);
  return path;
}

/** The deployments a request on this route may use, in order: the route's own, then its fallbacks. */
export function chainOf(config: RouterConfig, routeName: string): string[] {
  const route = config.routes.find((r) => r.name === routeName);
  if (route) return [...new Set([...route.deployments, ...route.fallbacks])];
  // A request naming a deployment directly, or the synthetic route over every deployment.
  if (config.deployments.some((d) => d.id === routeName)) return [routeName];
  return config.deployments.map((d) => d.id);
}

/** The special chains a request's errors opened (context overflow, content filtered). */
function specialChainsOf(config: RouterConfig, request: RequestRecord): string[] {
  const route = config.routes.find((r) => r.name === request.route);
  if (!route) return [];
  const kinds = new Set(request.attempts.map((a) => a.errorKind));
  return [
    ...(kinds.has('context_overflow') ? route.onContextOverflow : []),
    ...(kinds.has('content_filtered') ? route.onContentFiltered : []),
  ];
}

/** The wait a throttled attempt was asked for: as the provider sent it, else as the router read it. */
export const retryAfterOf = (a: AttemptSummary): number | undefined => a.retryAfterSentMs ?? a.retryAfterMs;

// -----------------------------------------------------------------------------------------------
// The checks

function evaluate(h: Hypothesis, parts: JournalParts): Outcome {
  const selected = inPhase(parts.requests, parts.faultWindows, h.phase).filter((r) => matches(r, h.where));
  const outcome = check(h, parts, selected);
  return outcome.verdict === 'inconclusive' && selected.length === 0
    ? { ...outcome, noTraffic: true }
    : outcome;
}

function check(h: Hypothesis, parts: JournalParts, selected: RequestRecord[]): Outcome {
  switch (h.type) {
    case 'success_rate': {
      const summary = `success rate ≥ ${pct(h.atLeast)}`;
      const expected = `≥ ${pct(h.atLeast)}`;
      if (selected.length === 0) return empty(summary, expected);
      const failures = selected.filter((r) => r.outcome !== 'success');
      const rate = (selected.length - failures.length) / selected.length;
      return {
        summary,
        verdict: judged(rate >= h.atLeast),
        expected,
        actual: `${pct(rate)} (${selected.length - failures.length}/${selected.length})`,
        examples: failures.map((r) => r.id),
      };
    }
    case 'latency': {
      const metric = h.metric === 'ttft' ? 'TTFT' : 'latency';
      const summary = `${h.percentile} ${metric} ≤ ${ms(h.atMost)}`;
      const expected = `≤ ${ms(h.atMost)}`;
      const pool = h.successesOnly ? selected.filter((r) => r.outcome === 'success') : selected;
      if (selected.length === 0) return empty(summary, expected);
      if (pool.length === 0)
        return inconclusive(summary, expected, `none of ${selected.length} requests succeeded`);
      const metricOf = (r: RequestRecord) => (h.metric === 'ttft' ? (r.ttftMs ?? r.latencyMs) : r.latencyMs);
      const value = percentile(pool.map(metricOf), Number(h.percentile.slice(1)));
      return {
        summary,
        verdict: judged(value <= h.atMost),
        expected,
        actual: `${ms(value)} over ${pool.length} requests`,
        examples: pool
          .filter((r) => metricOf(r) > h.atMost)
          .sort((a, b) => metricOf(b) - metricOf(a))
          .map((r) => r.id),
      };
    }
    case 'cost_per_success': {
      const summary = `cost per success ≤ ${usd(h.atMostUsd)}`;
      const expected = `≤ ${usd(h.atMostUsd)}`;
      if (selected.length === 0) return empty(summary, expected);
      const successes = selected.filter((r) => r.outcome === 'success').length;
      const total = selected.reduce((sum, r) => sum + r.costUsd, 0);
      if (successes === 0) {
        if (total === 0) return inconclusive(summary, expected, 'no request succeeded and nothing was spent');
        return {
          summary,
          verdict: 'failed',
          expected,
          actual: `no success (spent ${usd(total)})`,
          examples: [],
        };
      }
      const value = total / successes;
      return {
        summary,
        verdict: judged(value <= h.atMostUsd),
        expected,
        actual: `${usd(value)} (${usd(total)} over ${successes} successes)`,
        examples: [...selected].sort((a, b) => b.costUsd - a.costUsd).map((r) => r.id),
      };
    }
    case 'wasted_spend': {
      const wasted = selected.reduce((sum, r) => sum + r.wastedUsd, 0);
      const total = selected.reduce((sum, r) => sum + r.costUsd, 0);
      const share = total > 0 ? wasted / total : 0;
      const limits: string[] = [];
      let passed = true;
      if (h.atMostUsd !== undefined) {
        limits.push(`≤ ${usd(h.atMostUsd)}`);
        passed &&= wasted <= h.atMostUsd;
      }
      if (h.atMostShare !== undefined) {
        limits.push(`≤ ${pct(h.atMostShare)} of spend`);
        passed &&= share <= h.atMostShare;
      }
      const expected = limits.join(' and ') || 'reported only';
      const summary = `wasted spend ${expected}`;
      if (selected.length === 0) return empty(summary, expected);
      return {
        summary,
        verdict: judged(passed),
        expected,
        actual: `${usd(wasted)} (${pct(share)} of ${usd(total)})`,
        examples: selected
          .filter((r) => r.wastedUsd > 0)
          .sort((a, b) => b.wastedUsd - a.wastedUsd)
          .map((r) => r.id),
      };
    }
    case 'max_attempts_per_request': {
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
    }
    case 'retry_after_respected':
      return retryAfterWithinRequests(h, selected);
    case 'retry_after_respected_across_requests':
      return retryAfterAcrossRequests(h, selected);
    case 'non_retryable_not_retried': {
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
    }
    case 'breaker_opens_within':
      return breakerOpensWithin(h, selected, parts);
    case 'breaker_recovers_with_single_probe':
      return breakerRecovers(h, selected, parts);
    case 'breaker_thrash':
      return breakerThrash(h, selected, parts);
    case 'fallback_path': {
      const target = h.path ? h.path.join(' → ') : h.deployment ? `ending on ${h.deployment}` : 'a fallback';
      const summary = `matching requests follow ${target}`;
      const expected = `≥ ${pct(h.atLeast)} of matching requests`;
      if (selected.length === 0) return empty(summary, expected);
      const follows = (r: RequestRecord) => {
        if (h.path) {
          const path = pathOf(r);
          return (
            r.outcome === 'success' && path.length === h.path.length && path.every((d, i) => d === h.path![i])
          );
        }
        if (h.deployment) return r.outcome === 'success' && r.finalDeployment === h.deployment;
        return r.fellBack;
      };
      const off = selected.filter((r) => !follows(r));
      const share = (selected.length - off.length) / selected.length;
      return {
        summary,
        verdict: judged(share >= h.atLeast),
        expected,
        actual: `${pct(share)} (${selected.length - off.length}/${selected.length})${
          off[0] ? `; e.g. ${pathOf(off[0]).join(' → ') || '(no attempt)'} (${off[0].outcome})` : ''
        }`,
        examples: off.map((r) => r.id),
      };
    }
    case 'no_duplicated_text':
      return noDuplicatedText(selected);
    case 'budget_never_exceeded':
      return budgetNeverExceeded(h, selected, parts);
    case 'recovery_time':
      return recoveryTime(h, parts);
    case 'every_fallback_tried':
      return everyFallbackTried(selected, parts);
    case 'no_deadline_death_with_healthy_fallback':
      return noDeadlineDeath(selected, parts);
    case 'no_request_left_hanging':
      return noRequestLeftHanging(selected, parts);
    case 'retries_spread': {
      const summary = `at most ${h.atMost} retries start within any ${ms(h.window)}`;
      const expected = `≤ ${h.atMost} per ${ms(h.window)}`;
      const starts: Array<{ at: number; id: string }> = [];
      for (const r of selected) {
        r.attempts.forEach((a, i) => {
          if (i > 0 && r.attempts[i - 1]!.next === 'retry') starts.push({ at: a.startMs, id: r.id });
        });
      }
      if (starts.length === 0) return inconclusive(summary, expected, 'no retries');
      starts.sort((a, b) => a.at - b.at);
      let best = 0;
      let bestFrom = 0;
      for (let lo = 0, hi = 0; hi < starts.length; hi++) {
        while (starts[hi]!.at - starts[lo]!.at >= h.window) lo++;
        if (hi - lo + 1 > best) {
          best = hi - lo + 1;
          bestFrom = lo;
        }
      }
      return {
        summary,
        verdict: judged(best <= h.atMost),
        expected,
        actual: `max ${best} within ${ms(h.window)} (at ${ms(starts[bestFrom]!.at)}), ${starts.length} retries in all`,
        examples:
          best > h.atMost ? [...new Set(starts.slice(bestFrom, bestFrom + best).map((s) => s.id))] : [],
      };
    }
  }
}

/** Kinds a router must not retry on the same deployment: not retryable by default, minus the rewrite case. */
export function defaultNonRetryableKinds(): ErrorKind[] {
  return ERROR_KINDS.filter(
    (kind) =>
      !ERROR_KIND_DEFAULTS[kind].retryable &&
      // A rejected parameter is retried once with the parameter rewritten: that is the fix, not a retry.
      kind !== 'unsupported_parameter' &&
      kind !== 'cancelled',
  );
}

function deploymentsOf(selected: RequestRecord[], parts: JournalParts, only: string | undefined): string[] {
  if (only) return [only];
  const ids = new Set<string>();
  for (const r of selected) for (const a of r.attempts) ids.add(a.deployment);
  for (const t of parts.breakerTransitions) ids.add(t.deployment);
  return [...ids].sort();
}

/** Within one request: an attempt after a throttled one on the same deployment waits what it was asked. */
function retryAfterWithinRequests(
  h: Extract<Hypothesis, { type: 'retry_after_respected' }>,
  selected: RequestRecord[],
): Outcome {
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
}

/**
 * Across requests: once a deployment answered with a Retry-After, no attempt on it — from any request,
 * probes and hedges included — starts before that wait is over. Attempts of other requests count
 * from strictly after the throttled answer (one started at the same instant may not have seen it).
 */
function retryAfterAcrossRequests(
  h: Extract<Hypothesis, { type: 'retry_after_respected_across_requests' }>,
  selected: RequestRecord[],
): Outcome {
  const summary = 'no attempt on a deployment starts before a Retry-After it gave allowed, from any request';
  const expected = `every attempt on a deployment waits out its earlier Retry-After${h.toleranceMs ? ` (±${ms(h.toleranceMs)})` : ''}`;
  type Throttle = { at: number; until: number; request: string; index: number };
  const throttles = new Map<string, Throttle[]>();
  for (const r of selected) {
    r.attempts.forEach((a, index) => {
      const wait = retryAfterOf(a);
      if (wait === undefined || (h.deployment && a.deployment !== h.deployment)) return;
      const list = throttles.get(a.deployment) ?? [];
      list.push({ at: a.endMs, until: a.endMs + wait, request: r.id, index });
      throttles.set(a.deployment, list);
    });
  }
  if (throttles.size === 0)
    return inconclusive(summary, expected, 'no attempt was answered with a Retry-After');
  // Per deployment: throttles by time, with the latest `until` seen so far.
  const sorted = new Map<string, { at: number[]; until: Throttle[] }>();
  for (const [deployment, list] of throttles) {
    list.sort((a, b) => a.at - b.at);
    const untilSoFar: Throttle[] = [];
    for (const t of list)
      untilSoFar.push(untilSoFar.at(-1) && untilSoFar.at(-1)!.until > t.until ? untilSoFar.at(-1)! : t);
    sorted.set(deployment, { at: list.map((t) => t.at), until: untilSoFar });
  }
  let checked = 0;
  let worstEarlyMs = 0;
  const bad: string[] = [];
  for (const r of selected) {
    r.attempts.forEach((b, index) => {
      const on = sorted.get(b.deployment);
      if (!on || b.startMs < on.at[0]!) return;
      checked++;
      // The latest-ending wait among throttled answers strictly before this attempt started.
      let lo = 0;
      let hi = on.at.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (on.at[mid]! < b.startMs) lo = mid + 1;
        else hi = mid;
      }
      let early = lo > 0 ? on.until[lo - 1]!.until - b.startMs : 0;
      // This request's own earlier throttled attempts on the deployment count even at the same instant.
      for (const t of throttles.get(b.deployment)!)
        if (t.request === r.id && t.index < index) early = Math.max(early, t.until - b.startMs);
      if (early > h.toleranceMs) {
        worstEarlyMs = Math.max(worstEarlyMs, early);
        if (!bad.includes(r.id)) bad.push(r.id);
      }
    });
  }
  const count = [...throttles.values()].reduce((n, list) => n + list.length, 0);
  return byExamples(
    summary,
    expected,
    bad,
    `${checked} attempts on deployments after they asked to wait (${count} Retry-Afters), none early`,
    `${bad.length} requests started an attempt early (worst: ${ms(worstEarlyMs)} early) of ${checked} attempts after ${count} Retry-Afters`,
  );
}

function breakerOpensWithin(
  h: Extract<Hypothesis, { type: 'breaker_opens_within' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
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
}

function breakerRecovers(
  h: Extract<Hypothesis, { type: 'breaker_recovers_with_single_probe' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
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
}

/** Per fault window, how many times a breaker opened (from closed, or again after a failed probe). */
function breakerThrash(
  h: Extract<Hypothesis, { type: 'breaker_thrash' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
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
}

/**
 * The caller's text must be exactly what one attempt delivered: text from two attempts, or more than
 * the router says it delivered, is text sent twice. Compares the harness's own view of what the caller
 * received (characters and hash) with the router's per-attempt account; a stream the router gave no
 * account of is no evidence. Only a stream that had a second attempt (a retry, a fallback) or failed
 * after its first token could have duplicated anything: without one, nothing was tested.
 */
function noDuplicatedText(selected: RequestRecord[]): Outcome {
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
}

/** Spend from the attempts' own costs per tenant and budget period (not the ledger's view). */
function budgetNeverExceeded(
  h: Extract<Hypothesis, { type: 'budget_never_exceeded' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
  const summary = 'no budget is ever exceeded';
  const expected = 'spend ≤ limit in every budget period';
  const budgets = parts.config.budgets.filter(
    (b) => h.tenant === undefined || b.tenant === h.tenant || b.tenant === '*',
  );
  if (budgets.length === 0) return inconclusive(summary, expected, 'no budget applies');
  const origin = parts.clockOriginMs ?? 0;
  const over: string[] = [];
  const examples: string[] = [];
  let highest = 0;
  let spentAny = false;
  for (const budget of budgets) {
    const spent = new Map<string, { usd: number; ids: string[] }>();
    for (const r of selected) {
      const tenant = r.tenant ?? 'default';
      if (budget.tenant !== '*' && tenant !== budget.tenant) continue;
      if (h.tenant !== undefined && tenant !== h.tenant) continue;
      for (const a of r.attempts) {
        if (a.costUsd === 0) continue;
        spentAny = true;
        // Spend is settled when the attempt ends: that is the period it counts in.
        const key = `${tenant} ${periodKey(budget.period, origin + a.endMs)}`;
        const entry = spent.get(key) ?? { usd: 0, ids: [] };
        entry.usd += a.costUsd;
        entry.ids.push(r.id);
        spent.set(key, entry);
      }
    }
    for (const [key, entry] of spent) {
      highest = Math.max(highest, entry.usd / budget.limitUsd);
      // A float sum of many small costs may exceed by rounding only.
      if (entry.usd > budget.limitUsd * (1 + 1e-9)) {
        over.push(`${key}: ${usd(entry.usd)} > ${usd(budget.limitUsd)}`);
        examples.push(...entry.ids.slice(-MAX_EXAMPLES));
      }
    }
  }
  if (!spentAny) return inconclusive(summary, expected, 'nothing was spent under a budget');
  return {
    summary,
    verdict: judged(over.length === 0),
    expected,
    actual:
      over.length === 0
        ? `highest use ${pct(highest)} of a budget (${budgets.length} budgets)`
        : `exceeded: ${over.slice(0, 3).join('; ')}${over.length > 3 ? `; … ${over.length} periods in all` : ''}`,
    examples: [...new Set(examples)],
  };
}

function recoveryTime(h: Extract<Hypothesis, { type: 'recovery_time' }>, parts: JournalParts): Outcome {
  const summary = `success rate back ≥ ${pct(h.threshold)} within ${ms(h.atMost)} after the fault window`;
  const expected = `≤ ${ms(h.atMost)}`;
  if (parts.faultWindows.length === 0)
    return inconclusive(summary, expected, 'no fault window (nothing to recover from)');
  const end = Math.max(...parts.faultWindows.map((w) => w.toMs));
  const after = parts.requests.filter((r) => r.startMs >= end && matches(r, h.where));
  if (after.length === 0)
    return inconclusive(
      summary,
      expected,
      end >= parts.durationMs
        ? 'the fault window lasts until the end of the run'
        : 'no requests after the fault window',
    );
  const buckets = new Map<number, { ok: number; all: number; failed: string[] }>();
  for (const r of after) {
    const k = Math.floor((r.startMs - end) / h.bucket);
    const b = buckets.get(k) ?? { ok: 0, all: 0, failed: [] };
    b.all++;
    if (r.outcome === 'success') b.ok++;
    else b.failed.push(r.id);
    buckets.set(k, b);
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  // Recovered from the first bucket after which no bucket falls below the threshold again.
  let recoveredAt: number | undefined;
  for (let i = keys.length - 1; i >= 0; i--) {
    const b = buckets.get(keys[i]!)!;
    if (b.ok / b.all < h.threshold) break;
    recoveredAt = keys[i]!;
  }
  const failedBefore = keys
    .filter((k) => recoveredAt === undefined || k < recoveredAt)
    .flatMap((k) => buckets.get(k)!.failed);
  if (recoveredAt === undefined)
    return {
      summary,
      verdict: 'failed',
      expected,
      actual: `not recovered by the end of the run (${ms(parts.durationMs - end)} after the window)`,
      examples: failedBefore,
    };
  const recovery = recoveredAt * h.bucket;
  return {
    summary,
    verdict: judged(recovery <= h.atMost),
    expected,
    actual: `${ms(recovery)} (buckets of ${ms(h.bucket)})`,
    examples: recovery <= h.atMost ? [] : failedBefore,
  };
}

/**
 * A failed request must have tried, or skipped for a stated reason (breaker open, cooldown, budget,
 * context window), every deployment of its chain. Exempt: an error no deployment can fix (not
 * fallbackable by nature: a bad request, a cancel), a stream that failed after its first token (it is
 * committed), and the total deadline (no_deadline_death_with_healthy_fallback judges those).
 */
function everyFallbackTried(selected: RequestRecord[], parts: JournalParts): Outcome {
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
    const reached = new Set([...r.attempts.map((a) => a.deployment), ...r.skipped.map((s) => s.deployment)]);
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
}

/**
 * A request that died at its total deadline must not have left untouched a deployment of its chain
 * that was answering meanwhile (an attempt of any request succeeded on it while this one ran).
 * Evidence: requests that had to leave a deployment (a failed attempt) with a fallback in their chain.
 */
function noDeadlineDeath(selected: RequestRecord[], parts: JournalParts): Outcome {
  const summary = 'no request dies at its total deadline while a fallback was healthy';
  const expected = 'no total-deadline death with an untried, answering deployment in the chain';
  const successes = new Map<string, number[]>();
  for (const r of parts.requests)
    for (const a of r.attempts)
      if (a.outcome === 'success') {
        const list = successes.get(a.deployment) ?? [];
        list.push(a.endMs);
        successes.set(a.deployment, list);
      }
  let atRisk = 0;
  let deaths = 0;
  const bad: string[] = [];
  const healthyMissed = new Set<string>();
  for (const r of selected) {
    if (r.hung) continue;
    const chain = chainOf(parts.config, r.route);
    if (chain.length < 2) continue;
    const diedAtDeadline = r.outcome === 'error' && r.timeoutPhase === 'total';
    if (!diedAtDeadline && !r.attempts.some((a) => a.outcome !== 'success')) continue;
    atRisk++;
    if (!diedAtDeadline) continue;
    deaths++;
    const reached = new Set([...r.attempts.map((a) => a.deployment), ...r.skipped.map((s) => s.deployment)]);
    const healthy = chain.filter(
      (d) => !reached.has(d) && (successes.get(d) ?? []).some((t) => t >= r.startMs && t <= r.endMs),
    );
    if (healthy.length > 0) {
      bad.push(r.id);
      for (const d of healthy) healthyMissed.add(d);
    }
  }
  if (atRisk === 0)
    return inconclusive(
      summary,
      expected,
      'no request had to leave a deployment with a fallback in its chain',
    );
  return byExamples(
    summary,
    expected,
    bad,
    `${deaths} total-deadline deaths of ${atRisk} requests that had to leave a deployment, none with a healthy fallback untried`,
    `${bad.length} requests died at their total deadline while ${[...healthyMissed].join(', ')} answered others`,
  );
}

/** Every request sent ended: none hung, none missing from the journal. */
function noRequestLeftHanging(selected: RequestRecord[], parts: JournalParts): Outcome {
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
}
