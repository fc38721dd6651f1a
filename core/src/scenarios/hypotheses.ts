import type { RouterConfig } from '../runtime/config/schema.ts';
import { periodKey } from '../runtime/cost/budget.ts';
import { ERROR_KIND_DEFAULTS, ERROR_KINDS, type ErrorKind } from '../runtime/errors.ts';
import { DEFAULT_BREAKER_COUNT_KINDS } from '../runtime/policies/breaker.ts';
import type { FaultWindow, HypothesisResult, RequestRecord, RunJournal } from './journal.ts';
import type { Hypothesis, Phase, RequestFilter, Scenario } from './schema.ts';

/** What the hypotheses are checked against: the journal's data (hypotheses are computed from it). */
export interface JournalParts {
  requests: RequestRecord[];
  faultWindows: FaultWindow[];
  breakerTransitions: RunJournal['breakerTransitions'];
  durationMs: number;
  /** The router config the run used (budgets, breaker count kinds). */
  config: RouterConfig;
  /** Absolute clock time of the run's start, for budget periods (UTC minute/hour/day/month). */
  clockOriginMs?: number;
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
    return {
      id: hypothesis.id ?? `${index}:${hypothesis.type}`,
      kind: hypothesis.type,
      description: hypothesis.description ?? `${outcome.summary}${phaseNote}`,
      ...(line !== undefined ? { line } : {}),
      phase: hypothesis.phase,
      passed: outcome.passed,
      expected: outcome.expected,
      actual: outcome.actual,
      examples: outcome.examples.slice(0, MAX_EXAMPLES),
    };
  });
}

interface Outcome {
  summary: string;
  passed: boolean;
  expected: string;
  actual: string;
  examples: string[];
}

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

const empty = (summary: string, expected: string): Outcome => ({
  summary,
  passed: false,
  expected,
  actual: 'no matching requests (nothing to check: the scenario selects no traffic here)',
  examples: [],
});

/** Deployments tried, in order, with repeats from retries collapsed. */
export function pathOf(request: RequestRecord): string[] {
  const path: string[] = [];
  for (const attempt of request.attempts)
    if (path.at(-1) !== attempt.deployment) path.push(attempt.deployment);
  return path;
}

// -----------------------------------------------------------------------------------------------
// The checks

function evaluate(h: Hypothesis, parts: JournalParts): Outcome {
  const selected = inPhase(parts.requests, parts.faultWindows, h.phase).filter((r) => matches(r, h.where));
  switch (h.type) {
    case 'success_rate': {
      const summary = `success rate ≥ ${pct(h.atLeast)}`;
      const expected = `≥ ${pct(h.atLeast)}`;
      if (selected.length === 0) return empty(summary, expected);
      const failures = selected.filter((r) => r.outcome !== 'success');
      const rate = (selected.length - failures.length) / selected.length;
      return {
        summary,
        passed: rate >= h.atLeast,
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
      if (pool.length === 0) return empty(summary, expected);
      const metricOf = (r: RequestRecord) => (h.metric === 'ttft' ? (r.ttftMs ?? r.latencyMs) : r.latencyMs);
      const value = percentile(pool.map(metricOf), Number(h.percentile.slice(1)));
      return {
        summary,
        passed: value <= h.atMost,
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
      if (successes === 0)
        return { summary, passed: false, expected, actual: `no success (spent ${usd(total)})`, examples: [] };
      const value = total / successes;
      return {
        summary,
        passed: value <= h.atMostUsd,
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
      return {
        summary: `wasted spend ${expected}`,
        passed,
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
      const most = selected.reduce((max, r) => Math.max(max, r.attempts.length), 0);
      return {
        summary,
        passed: most <= h.atMost,
        expected,
        actual: `max ${most} over ${selected.length} requests`,
        examples: selected.filter((r) => r.attempts.length > h.atMost).map((r) => r.id),
      };
    }
    case 'retry_after_respected': {
      let checked = 0;
      let worstEarlyMs = 0;
      const bad: string[] = [];
      for (const r of selected) {
        for (const a of r.attempts) {
          if (a.retryAfterNotBeforeMs === undefined) continue;
          checked++;
          const early = a.retryAfterNotBeforeMs - a.startMs;
          if (early > h.toleranceMs) {
            worstEarlyMs = Math.max(worstEarlyMs, early);
            if (!bad.includes(r.id)) bad.push(r.id);
          }
        }
      }
      return {
        summary: 'no attempt earlier than a Retry-After allowed',
        passed: bad.length === 0,
        expected: `every retry after a Retry-After starts no earlier than allowed${h.toleranceMs ? ` (±${ms(h.toleranceMs)})` : ''}`,
        actual:
          bad.length === 0
            ? `${checked} retries after a Retry-After, all on time`
            : `${bad.length} requests retried early (worst: ${ms(worstEarlyMs)} early) of ${checked} checked`,
        examples: bad,
      };
    }
    case 'non_retryable_not_retried': {
      const kinds = new Set<ErrorKind>(h.kinds ?? defaultNonRetryableKinds());
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
      return {
        summary: 'a non-retryable error is never retried on the same deployment',
        passed: bad.length === 0,
        expected: `no retry after ${[...kinds].join(', ')}`,
        actual:
          bad.length === 0
            ? `${failures} non-retryable failures, none retried`
            : `${bad.length} requests retried a non-retryable error (${[...seenKinds].join(', ')})`,
        examples: bad,
      };
    }
    case 'breaker_opens_within':
      return breakerOpensWithin(h, selected, parts);
    case 'breaker_recovers_with_single_probe':
      return breakerRecovers(h, selected, parts);
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
        passed: share >= h.atLeast,
        expected,
        actual: `${pct(share)} (${selected.length - off.length}/${selected.length})${
          off[0] ? `; e.g. ${pathOf(off[0]).join(' → ') || '(no attempt)'} (${off[0].outcome})` : ''
        }`,
        examples: off.map((r) => r.id),
      };
    }
    case 'no_duplicated_text': {
      const streams = selected.filter((r) => r.stream);
      const bad = streams.filter((r) => r.duplicatedText);
      const midStream = streams.filter((r) => r.outcome === 'error' && (r.streamedChars ?? 0) > 0).length;
      return {
        summary: 'no text is delivered twice after a mid-stream failure',
        passed: bad.length === 0,
        expected: 'no stream delivers any text twice',
        actual: `${bad.length} of ${streams.length} streams duplicated text (${midStream} failed mid-stream)`,
        examples: bad.map((r) => r.id),
      };
    }
    case 'budget_never_exceeded':
      return budgetNeverExceeded(h, selected, parts);
    case 'recovery_time':
      return recoveryTime(h, parts);
    case 'retries_spread': {
      const starts: Array<{ at: number; id: string }> = [];
      for (const r of selected) {
        r.attempts.forEach((a, i) => {
          if (i > 0 && r.attempts[i - 1]!.next === 'retry') starts.push({ at: a.startMs, id: r.id });
        });
      }
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
        summary: `at most ${h.atMost} retries start within any ${ms(h.window)}`,
        passed: best <= h.atMost,
        expected: `≤ ${h.atMost} per ${ms(h.window)}`,
        actual:
          best === 0
            ? 'no retries'
            : `max ${best} within ${ms(h.window)} (at ${ms(starts[bestFrom]!.at)}), ${starts.length} retries in all`,
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

function breakerOpensWithin(
  h: Extract<Hypothesis, { type: 'breaker_opens_within' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
  const kinds = new Set<ErrorKind>(
    h.kinds ?? parts.config.policies.breaker.countKinds ?? DEFAULT_BREAKER_COUNT_KINDS,
  );
  let longest = 0;
  let longestOn = '';
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
      if (t.deployment === deployment) events.push({ at: t.atMs, order: 1, to: t.to });
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
  return {
    summary: `breaker opens within ${h.failures} consecutive failures`,
    passed: longest <= h.failures,
    expected: `≤ ${h.failures} consecutive failures on a closed breaker`,
    actual:
      longest === 0
        ? 'no counted failure on a closed breaker'
        : `longest run: ${longest} failures on ${longestOn} while its breaker stayed closed`,
    examples: [...new Set(examples)],
  };
}

function breakerRecovers(
  h: Extract<Hypothesis, { type: 'breaker_recovers_with_single_probe' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
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
  return {
    summary: 'an open breaker recovers through a single probe',
    passed: problems.length === 0,
    expected: `one attempt per half-open period${h.mustClose ? ', every opened breaker closed again' : ''}`,
    actual:
      opened === 0
        ? 'no breaker opened'
        : problems.length === 0
          ? `${opened} breakers opened, ${halfOpenPeriods} half-open periods, each with a single probe`
          : problems.join('; '),
    examples: [...new Set(examples)],
  };
}

function budgetNeverExceeded(
  h: Extract<Hypothesis, { type: 'budget_never_exceeded' }>,
  selected: RequestRecord[],
  parts: JournalParts,
): Outcome {
  const budgets = parts.config.budgets.filter(
    (b) => h.tenant === undefined || b.tenant === h.tenant || b.tenant === '*',
  );
  const origin = parts.clockOriginMs ?? 0;
  const over: string[] = [];
  const examples: string[] = [];
  let highest = 0;
  for (const budget of budgets) {
    const spent = new Map<string, { usd: number; ids: string[] }>();
    for (const r of selected) {
      const tenant = r.tenant ?? 'default';
      if (budget.tenant !== '*' && tenant !== budget.tenant) continue;
      if (h.tenant !== undefined && tenant !== h.tenant) continue;
      for (const a of r.attempts) {
        if (a.costUsd === 0) continue;
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
  return {
    summary: 'no budget is ever exceeded',
    passed: over.length === 0,
    expected: budgets.length === 0 ? 'no budgets configured' : 'spend ≤ limit in every budget period',
    actual:
      over.length === 0
        ? `highest use ${pct(highest)} of a budget (${budgets.length} budgets)`
        : `exceeded: ${over.join('; ')}`,
    examples: [...new Set(examples)],
  };
}

function recoveryTime(h: Extract<Hypothesis, { type: 'recovery_time' }>, parts: JournalParts): Outcome {
  const summary = `success rate back ≥ ${pct(h.threshold)} within ${ms(h.atMost)} after the fault window`;
  const expected = `≤ ${ms(h.atMost)}`;
  if (parts.faultWindows.length === 0)
    return {
      summary,
      passed: true,
      expected,
      actual: 'no fault window (nothing to recover from)',
      examples: [],
    };
  const end = Math.max(...parts.faultWindows.map((w) => w.toMs));
  const after = parts.requests.filter((r) => r.startMs >= end && matches(r, h.where));
  if (after.length === 0)
    return {
      summary,
      passed: false,
      expected,
      actual:
        end >= parts.durationMs
          ? 'the fault window lasts until the end of the run'
          : 'no requests after the fault window',
      examples: [],
    };
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
      passed: false,
      expected,
      actual: `not recovered by the end of the run (${ms(parts.durationMs - end)} after the window)`,
      examples: failedBefore,
    };
  const recovery = recoveredAt * h.bucket;
  return {
    summary,
    passed: recovery <= h.atMost,
    expected,
    actual: `${ms(recovery)} (buckets of ${ms(h.bucket)})`,
    examples: recovery <= h.atMost ? [] : failedBefore,
  };
}
