import {
  type FaultWindow,
  hypothesisVerdict,
  type RequestRecord,
  type RunJournal,
} from '../scenarios/journal.ts';

/**
 * Figures every report shows, computed from the journal alone. Latency percentiles count successful
 * requests only (as the latency hypotheses do by default: a fast failure is not a fast answer).
 */

export type Verdict = RunJournal['verdict'];

/** An interrupted run has no verdict to trust, whatever its hypotheses say so far. */
export function verdictOf(journal: RunJournal): Verdict {
  return journal.status === 'incomplete' ? 'incomplete' : journal.verdict;
}

/** Nearest-rank percentile; null for no values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.toSorted((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** Served by another deployment than the preferred one: after a failed attempt, or past an open breaker. */
export function isFallback(request: RequestRecord): boolean {
  return request.fellBack || (request.outcome === 'success' && request.skipped.length > 0);
}

export interface Summary {
  requests: number;
  successes: number;
  failures: number;
  fallbacks: number;
  successRate: number | null;
  fallbackRate: number | null;
  latency: Percentiles;
  ttft: Percentiles;
  attempts: number;
  retries: number;
  hedges: number;
  costUsd: number;
  wastedUsd: number;
  costPerSuccessUsd: number | null;
  wastedShare: number | null;
  /** False for a gateway graded from outside: its spend is not priced, so the costs above mean nothing. */
  spendObservable: boolean;
  faultsInjected: number;
  /** Held, failed, and inconclusive (no evidence; `inconclusiveAllowed` of them allowed by the scenario). */
  hypotheses: {
    total: number;
    passed: number;
    failed: number;
    inconclusive: number;
    inconclusiveAllowed: number;
  };
}

export function summarize(journal: RunJournal): Summary {
  const requests = journal.requests;
  const successes = requests.filter((r) => r.outcome === 'success');
  const fallbacks = requests.filter(isFallback).length;
  let attempts = 0;
  let retries = 0;
  let hedges = 0;
  for (const request of requests) {
    attempts += request.attempts.length;
    hedges += request.attempts.filter((a) => a.hedge).length;
    retries += countRetries(request);
  }
  const costUsd = sum(requests.map((r) => r.costUsd));
  const wastedUsd = sum(requests.map((r) => r.wastedUsd));
  const verdicts = journal.hypotheses.map(hypothesisVerdict);
  const passed = verdicts.filter((v) => v === 'passed').length;
  const inconclusive = verdicts.filter((v) => v === 'inconclusive').length;
  const inconclusiveAllowed = journal.hypotheses.filter(
    (h) => hypothesisVerdict(h) === 'inconclusive' && h.passed,
  ).length;
  return {
    requests: requests.length,
    successes: successes.length,
    failures: requests.length - successes.length,
    fallbacks,
    successRate: requests.length ? successes.length / requests.length : null,
    fallbackRate: requests.length ? fallbacks / requests.length : null,
    latency: percentiles(successes.map((r) => r.latencyMs)),
    ttft: percentiles(successes.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs]))),
    attempts,
    retries,
    hedges,
    costUsd,
    wastedUsd,
    costPerSuccessUsd: successes.length ? costUsd / successes.length : null,
    wastedShare: costUsd > 0 ? wastedUsd / costUsd : null,
    spendObservable: spendObservable(journal),
    faultsInjected: sum(Object.values(journal.faultCounters.injected)),
    hypotheses: {
      total: journal.hypotheses.length,
      passed,
      failed: journal.hypotheses.length - passed - inconclusive,
      inconclusive,
      inconclusiveAllowed,
    },
  };
}

/** `; 2 inconclusive (1 allowed)`: hypotheses the run held no evidence for. */
export function inconclusiveNote(h: Summary['hypotheses']): string {
  if (h.inconclusive === 0) return '';
  return `; ${h.inconclusive} inconclusive${h.inconclusiveAllowed ? ` (${h.inconclusiveAllowed} allowed)` : ''}`;
}

function countRetries(request: RequestRecord): number {
  const sequential = request.attempts.filter((a) => !a.hedge).toSorted((a, b) => a.startMs - b.startMs);
  let retries = 0;
  for (let i = 1; i < sequential.length; i++) {
    if (sequential[i]!.deployment === sequential[i - 1]!.deployment) retries++;
  }
  return retries;
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

// ---------------------------------------------------------------------------------------------
// Over time

const NICE_BUCKETS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000,
];

/** About 50 buckets over the run, on a round size so axis ticks and buckets line up. */
export function bucketSizeFor(durationMs: number): number {
  const target = durationMs / 50;
  return NICE_BUCKETS_MS.find((b) => b >= target) ?? Math.ceil(target / 3_600_000) * 3_600_000;
}

export interface Bucket {
  startMs: number;
  requests: number;
  successes: number;
  failures: number;
  fallbacks: number;
  latency: Percentiles;
  ttft: Percentiles;
  costUsd: number;
  wastedUsd: number;
}

/** Requests bucketed by start time (as the hypotheses measure them). */
export function timeBuckets(journal: RunJournal, bucketMs = bucketSizeFor(runSpanMs(journal))): Bucket[] {
  const span = runSpanMs(journal);
  const count = Math.max(1, Math.ceil(span / bucketMs));
  const groups: RequestRecord[][] = Array.from({ length: count }, () => []);
  for (const request of journal.requests) {
    const index = Math.min(count - 1, Math.max(0, Math.floor(request.startMs / bucketMs)));
    groups[index]!.push(request);
  }
  return groups.map((group, i) => {
    const successes = group.filter((r) => r.outcome === 'success');
    return {
      startMs: i * bucketMs,
      requests: group.length,
      successes: successes.length,
      failures: group.length - successes.length,
      fallbacks: group.filter(isFallback).length,
      latency: percentiles(successes.map((r) => r.latencyMs)),
      ttft: percentiles(successes.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs]))),
      costUsd: sum(group.map((r) => r.costUsd)),
      wastedUsd: sum(group.map((r) => r.wastedUsd)),
    };
  });
}

/** The simulated time the run covered; an interrupted journal may not have its duration yet. */
export function runSpanMs(journal: RunJournal): number {
  let span = journal.durationMs;
  for (const r of journal.requests) span = Math.max(span, r.endMs);
  for (const w of journal.faultWindows) span = Math.max(span, w.toMs);
  return Math.max(span, 1);
}

// ---------------------------------------------------------------------------------------------
// Flow between deployments

export type FlowKind = 'first' | 'retry' | 'fallback' | 'hedge' | 'skipped' | 'answered' | 'failed';

export interface FlowEdge {
  from: string;
  to: string;
  kind: FlowKind;
  /** Why the flow left `from`: the error kind, the skip reason. */
  reason: string;
  count: number;
}

export const REQUEST_NODE = 'request';
export const ANSWERED_NODE = 'answered';
export const FAILED_NODE = 'failed';

export function flowEdges(journal: RunJournal): FlowEdge[] {
  const edges = new Map<string, FlowEdge>();
  const add = (from: string, to: string, kind: FlowKind, reason: string) => {
    const key = JSON.stringify([from, to, kind, reason]);
    const edge = edges.get(key);
    if (edge) edge.count++;
    else edges.set(key, { from, to, kind, reason, count: 1 });
  };
  for (const request of journal.requests) {
    for (const skip of request.skipped) add(REQUEST_NODE, skip.deployment, 'skipped', skip.reason);
    const ordered = request.attempts.toSorted((a, b) => a.startMs - b.startMs);
    let previous: (typeof ordered)[number] | undefined;
    for (const attempt of ordered) {
      if (attempt.hedge) {
        add(previous?.deployment ?? REQUEST_NODE, attempt.deployment, 'hedge', 'hedge');
        continue;
      }
      if (!previous) add(REQUEST_NODE, attempt.deployment, 'first', '');
      else {
        const kind = previous.deployment === attempt.deployment ? 'retry' : 'fallback';
        add(previous.deployment, attempt.deployment, kind, previous.errorKind ?? previous.outcome);
      }
      previous = attempt;
    }
    if (request.outcome === 'success') {
      const via = request.cache === 'hit' || request.cache === 'coalesced' ? `cache ${request.cache}` : '';
      add(request.finalDeployment ?? previous?.deployment ?? REQUEST_NODE, ANSWERED_NODE, 'answered', via);
    } else {
      add(previous?.deployment ?? REQUEST_NODE, FAILED_NODE, 'failed', request.errorKind ?? 'error');
    }
  }
  const order: FlowKind[] = ['first', 'skipped', 'retry', 'fallback', 'hedge', 'answered', 'failed'];
  return [...edges.values()].sort(
    (a, b) =>
      order.indexOf(a.kind) - order.indexOf(b.kind) || b.count - a.count || a.from.localeCompare(b.from),
  );
}

export interface DeploymentStats {
  deployment: string;
  attempts: number;
  successes: number;
  errors: number;
  aborted: number;
  hedges: number;
  probes: number;
  answered: number;
  costUsd: number;
  errorKinds: Record<string, number>;
}

export function deploymentStats(journal: RunJournal): DeploymentStats[] {
  const stats = new Map<string, DeploymentStats>();
  const get = (deployment: string) => {
    let s = stats.get(deployment);
    if (!s) {
      s = {
        deployment,
        attempts: 0,
        successes: 0,
        errors: 0,
        aborted: 0,
        hedges: 0,
        probes: 0,
        answered: 0,
        costUsd: 0,
        errorKinds: {},
      };
      stats.set(deployment, s);
    }
    return s;
  };
  for (const request of journal.requests) {
    for (const a of request.attempts) {
      const s = get(a.deployment);
      s.attempts++;
      s.costUsd += a.costUsd;
      if (a.hedge) s.hedges++;
      if (a.probe) s.probes++;
      if (a.outcome === 'success') s.successes++;
      else if (a.outcome === 'aborted') s.aborted++;
      else {
        s.errors++;
        const kind = a.errorKind ?? 'error';
        s.errorKinds[kind] = (s.errorKinds[kind] ?? 0) + 1;
      }
    }
    if (request.outcome === 'success' && request.finalDeployment) get(request.finalDeployment).answered++;
  }
  return [...stats.values()];
}

// ---------------------------------------------------------------------------------------------
// Breakers

export interface BreakerSegment {
  fromMs: number;
  toMs: number;
  state: string;
}

export interface BreakerLane {
  deployment: string;
  segments: BreakerSegment[];
}

/** One lane per deployment the run touched; one that never transitioned stayed closed. */
export function breakerLanes(journal: RunJournal): BreakerLane[] {
  const span = runSpanMs(journal);
  const names = new Set<string>();
  for (const r of journal.requests) {
    for (const a of r.attempts) names.add(a.deployment);
    for (const s of r.skipped) names.add(s.deployment);
  }
  for (const t of journal.breakerTransitions) names.add(t.deployment);
  return [...names].map((deployment) => {
    const transitions = journal.breakerTransitions
      .filter((t) => t.deployment === deployment)
      .toSorted((a, b) => a.atMs - b.atMs);
    const segments: BreakerSegment[] = [];
    let state = transitions[0]?.from ?? 'closed';
    let from = 0;
    for (const t of transitions) {
      if (t.atMs > from) segments.push({ fromMs: from, toMs: t.atMs, state });
      state = t.to;
      from = t.atMs;
    }
    segments.push({ fromMs: from, toMs: Math.max(from, span), state });
    return { deployment, segments };
  });
}

// ---------------------------------------------------------------------------------------------
// Recovery

export interface Recovery {
  /** Merged fault windows (overlapping windows count as one outage). */
  fromMs: number;
  toMs: number;
  faults: string[];
  /** No request started after the window: the run ended during (or right at the end of) the fault. */
  unobserved: boolean;
  /** From the window's end until every later bucket's success rate is at or above the threshold. */
  successRecoveredAfterMs: number | null;
  /** From the window's end until the last breaker that opened during it closed (null: none opened). */
  breakersClosedAfterMs: number | null;
  /** Breakers that opened during the window and were still not closed at the end of the run. */
  breakersStillOpen: string[];
  /** From the window's end until the first request answered by its preferred deployment. */
  preferredServingAfterMs: number | null;
}

export const RECOVERY_BUCKET_MS = 10_000;
export const RECOVERY_THRESHOLD = 0.95;

export function mergedFaultWindows(windows: readonly FaultWindow[]): Array<{
  fromMs: number;
  toMs: number;
  faults: string[];
}> {
  const sorted = windows.toSorted((a, b) => a.fromMs - b.fromMs);
  const merged: Array<{ fromMs: number; toMs: number; faults: string[] }> = [];
  for (const w of sorted) {
    const label = `${w.fault} on ${w.target}`;
    const last = merged.at(-1);
    if (last && w.fromMs <= last.toMs) {
      last.toMs = Math.max(last.toMs, w.toMs);
      if (!last.faults.includes(label)) last.faults.push(label);
    } else merged.push({ fromMs: w.fromMs, toMs: w.toMs, faults: [label] });
  }
  return merged;
}

export function recoveries(journal: RunJournal): Recovery[] {
  const windows = mergedFaultWindows(journal.faultWindows);
  const span = runSpanMs(journal);
  return windows.map((w, i) => {
    const nextStart = windows[i + 1]?.fromMs ?? span;
    return {
      ...w,
      unobserved: !journal.requests.some((r) => r.startMs >= w.toMs && r.startMs < nextStart),
      successRecoveredAfterMs: successRecovery(journal.requests, w.toMs, nextStart),
      ...breakerRecovery(journal, w.fromMs, w.toMs),
      preferredServingAfterMs: preferredServing(journal.requests, w.toMs, nextStart),
    };
  });
}

function successRecovery(requests: readonly RequestRecord[], endMs: number, untilMs: number): number | null {
  const after = requests.filter((r) => r.startMs >= endMs && r.startMs < untilMs);
  if (after.length === 0) return null;
  const count = Math.ceil((untilMs - endMs) / RECOVERY_BUCKET_MS);
  const rates: Array<number | null> = [];
  for (let i = 0; i < count; i++) {
    const from = endMs + i * RECOVERY_BUCKET_MS;
    const group = after.filter((r) => r.startMs >= from && r.startMs < from + RECOVERY_BUCKET_MS);
    rates.push(group.length ? group.filter((r) => r.outcome === 'success').length / group.length : null);
  }
  // The first bucket from which no non-empty bucket falls below the threshold.
  let recoveredAt: number | null = null;
  for (let i = rates.length - 1; i >= 0; i--) {
    const rate = rates[i];
    if (rate === null || rate === undefined) continue;
    if (rate < RECOVERY_THRESHOLD) break;
    recoveredAt = i;
  }
  return recoveredAt === null ? null : recoveredAt * RECOVERY_BUCKET_MS;
}

function breakerRecovery(journal: RunJournal, fromMs: number, toMs: number) {
  const opened = new Set(
    journal.breakerTransitions
      .filter((t) => t.to === 'open' && t.atMs >= fromMs && t.atMs <= toMs)
      .map((t) => t.deployment),
  );
  if (opened.size === 0) return { breakersClosedAfterMs: null, breakersStillOpen: [] };
  let latestClose = toMs;
  const stillOpen: string[] = [];
  for (const deployment of opened) {
    const lastTransition = journal.breakerTransitions
      .filter((t) => t.deployment === deployment)
      .toSorted((a, b) => a.atMs - b.atMs)
      .at(-1);
    if (lastTransition?.to !== 'closed') {
      stillOpen.push(deployment);
      continue;
    }
    latestClose = Math.max(latestClose, lastTransition.atMs);
  }
  return { breakersClosedAfterMs: latestClose - toMs, breakersStillOpen: stillOpen };
}

function preferredServing(requests: readonly RequestRecord[], endMs: number, untilMs: number): number | null {
  const first = requests
    .filter((r) => r.startMs >= endMs && r.startMs < untilMs && r.outcome === 'success' && !isFallback(r))
    .reduce<RequestRecord | undefined>(
      (best, r) => (!best || r.startMs < best.startMs ? r : best),
      undefined,
    );
  return first ? first.startMs - endMs : null;
}

// ---------------------------------------------------------------------------------------------
// Formatting shared by the renderers

/** The way one request went, e.g. `openai ✗ 503 · waited 1000 ms (retry-after) → anthropic ✓ 812 ms`. */
export function attemptPath(request: RequestRecord): string {
  const parts: string[] = [];
  if (request.cache === 'hit') parts.push('cache hit');
  if (request.cache === 'coalesced') parts.push('coalesced');
  for (const skip of request.skipped) parts.push(`${skip.deployment} ⤼ skipped (${skip.reason})`);
  for (const a of request.attempts.toSorted((x, y) => x.startMs - y.startMs)) {
    const name = `${a.deployment}${a.hedge ? ' (hedge)' : ''}${a.probe ? ' (probe)' : ''}`;
    let text: string;
    if (a.outcome === 'success') text = `${name} ✓ ${formatMs(a.endMs - a.startMs)}`;
    else if (a.outcome === 'aborted') text = `${name} ⊘ aborted after ${formatMs(a.endMs - a.startMs)}`;
    else text = `${name} ✗ ${a.status ?? a.errorKind ?? 'error'}`;
    if (a.delayBeforeNextMs !== undefined) {
      text += ` · waited ${formatMs(a.delayBeforeNextMs)}${a.delayReason ? ` (${a.delayReason})` : ''}`;
    }
    parts.push(text);
  }
  if (parts.length === 0) parts.push('(no attempt)');
  if (request.outcome === 'error') parts.push(`✗ failed: ${request.errorKind ?? 'error'}`);
  return parts.join(' → ');
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 1_000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** A point on the run's clock as m:ss. */
export function formatClock(ms: number): string {
  const total = Math.round(ms / 1_000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** A recovery of 0 means no bucket after the fault fell below the threshold. */
export function formatRecovery(ms: number | null): string {
  return ms === 0 ? 'immediate' : formatMs(ms);
}

export function formatPercent(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  return `${(share * 100).toFixed(digits)}%`;
}

/** Whether a run's spend was seen: not for a gateway graded from outside (`run --against`). */
export function spendObservable(journal: Pick<RunJournal, 'mode'>): boolean {
  return journal.mode !== 'against';
}

export const NOT_OBSERVABLE = 'not observable';

/** A cost of a run, or 'not observable' where its spend was not seen (never a $0 that was not spent). */
export function formatSpend(s: Pick<Summary, 'spendObservable'>, usd: number | null | undefined): string {
  return s.spendObservable ? formatUsd(usd) : NOT_OBSERVABLE;
}

export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  // Per-request costs are fractions of a cent: keep three significant digits.
  return `$${usd.toPrecision(3)}`;
}

/** A file-name-safe name for a scenario's reports. */
export function scenarioSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/g, '');
  return slug || 'scenario';
}
