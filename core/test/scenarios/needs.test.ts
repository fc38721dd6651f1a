import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKS,
  defineScenario,
  evaluateHypotheses,
  type JournalParts,
  NOT_OBSERVABLE_PREFIX,
  type RequestRecord,
  type RunJournal,
  runScenario,
  type Scenario,
} from '../../src/scenarios/index.ts';

/**
 * Each hypothesis check says what it reads: the requests as the caller saw them, the upstream calls
 * each request made, or the router's internals. A gateway target can show the first two and not the
 * third; the harness decides in one place (evaluateHypotheses) that what a target could not show is
 * not observable. The declarations are checked against the checks themselves: on a real run, taking
 * away what a check claims not to read must not change its verdict or its figures.
 */

const scenario: Scenario = defineScenario({
  name: 'every-hypothesis',
  description: 'A little of every fault and every hypothesis type, to see what each check reads.',
  seed: 17,
  router: {
    deployments: [
      { id: 'a', provider: 'openai', model: 'gpt-4o-mini' },
      { id: 'b', provider: 'anthropic', model: 'claude-haiku-4-5' },
    ],
    routes: [{ name: 'chat', deployments: ['a'], fallbacks: ['b'] }],
    policies: {
      retry: { maxAttempts: 2, retryAfterCapMs: 2_000 },
      breaker: { consecutiveFailures: 3, openMs: 3_000 },
      hedge: { enabled: true, delay: 1_500 },
      timeouts: { headersMs: 10_000, totalMs: 6_000 },
    },
    budgets: [{ tenant: 'acme', period: 'minute', limitUsd: 0.02 }],
  },
  load: { rate: 8, duration: '40s', streamShare: 0.5, tenants: { acme: 1, globex: 1 }, maxOutputTokens: 64 },
  faults: [
    { fault: 'latency', params: { delayMs: 9_000 }, target: { provider: 'openai' }, from: '2s', to: '3s' },
    { fault: 'service_unavailable', target: { provider: 'openai' }, from: '5s', to: '12s' },
    { fault: 'rate_limit', params: { retryAfterMs: 800 }, rate: 0.3, from: '15s', to: '25s' },
    { fault: 'stream_cut', params: { afterChunks: 4 }, rate: 0.2, from: '26s', to: '32s' },
    { fault: 'invalid_api_key', target: { provider: 'openai' }, rate: 0.5, from: '33s', to: '36s' },
  ],
  hypotheses: [
    { type: 'success_rate', atLeast: 0.9 },
    { type: 'latency', percentile: 'p95', atMost: '8s' },
    { type: 'latency', percentile: 'p50', metric: 'ttft', atMost: '3s', phase: 'during' },
    { type: 'cost_per_success', atMostUsd: 0.01 },
    { type: 'wasted_spend', atMostShare: 0.5 },
    { type: 'max_attempts_per_request', atMost: 3 },
    { type: 'retry_after_respected' },
    { type: 'retry_after_respected_across_requests' },
    { type: 'non_retryable_not_retried' },
    { type: 'breaker_opens_within', failures: 3 },
    { type: 'breaker_recovers_with_single_probe', mustClose: false },
    { type: 'breaker_thrash', atMost: 3 },
    { type: 'fallback_path', deployment: 'b', atLeast: 0.5, phase: 'during' },
    { type: 'no_duplicated_text' },
    { type: 'budget_never_exceeded' },
    { type: 'recovery_time', atMost: '10s' },
    { type: 'every_fallback_tried' },
    { type: 'no_deadline_death_with_healthy_fallback' },
    { type: 'no_request_left_hanging' },
    { type: 'retries_spread', atMost: 4, window: '100ms' },
  ],
});

/** What a caller alone sees of a request: no attempts, no spend, nothing of the router's decisions. */
function asCallerSees(r: RequestRecord): RequestRecord {
  const {
    attempts,
    skipped,
    costUsd,
    wastedUsd,
    finalDeployment,
    fellBack,
    budgetEvents,
    timeoutPhase,
    ...rest
  } = r;
  void [attempts, skipped, costUsd, wastedUsd, finalDeployment, fellBack, budgetEvents, timeoutPhase];
  const { deliveredChars, deliveredHash, ...caller } = rest;
  void [deliveredChars, deliveredHash];
  return { ...caller, attempts: [], skipped: [], costUsd: 0, wastedUsd: 0, fellBack: false, cache: 'off' };
}

/** What the provider side adds: each upstream call (where, when, what it answered, what it was asked to wait). */
function asOutsideSees(r: RequestRecord): RequestRecord {
  return {
    ...asCallerSees(r),
    ...(r.finalDeployment ? { finalDeployment: r.finalDeployment } : {}),
    ...(r.deliveredChars !== undefined ? { deliveredChars: r.deliveredChars } : {}),
    ...(r.deliveredHash !== undefined ? { deliveredHash: r.deliveredHash } : {}),
    fellBack: r.fellBack,
    attempts: r.attempts.map((a) => ({
      deployment: a.deployment,
      startMs: a.startMs,
      endMs: a.endMs,
      outcome: a.outcome,
      costUsd: 0,
      ...(a.errorKind ? { errorKind: a.errorKind } : {}),
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.next ? { next: a.next } : {}),
      ...(a.delayBeforeNextMs !== undefined ? { delayBeforeNextMs: a.delayBeforeNextMs } : {}),
      ...(a.hedge ? { hedge: true } : {}),
      ...(a.retryAfterSentMs !== undefined ? { retryAfterSentMs: a.retryAfterSentMs } : {}),
      ...(a.deliveredChars !== undefined ? { deliveredChars: a.deliveredChars } : {}),
      ...(a.deliveredHash !== undefined ? { deliveredHash: a.deliveredHash } : {}),
    })),
  };
}

let journal: RunJournal;
let parts: JournalParts;
beforeAll(async () => {
  journal = await runScenario(scenario);
  parts = {
    requests: journal.requests,
    faultWindows: journal.faultWindows,
    breakerTransitions: journal.breakerTransitions,
    durationMs: journal.durationMs,
    config: scenario.router,
    clockOriginMs: journal.clockOriginMs!,
    requestsSent: journal.requestsSent!,
  };
}, 60_000);

const judge = (p: JournalParts) =>
  evaluateHypotheses(scenario, p).map(({ verdict, expected, actual, examples }) => ({
    verdict,
    expected,
    actual,
    examples,
  }));

describe('what each hypothesis check reads', () => {
  it('the run gives every check something to judge', () => {
    const inconclusive = journal.hypotheses.filter((h) => h.verdict === 'inconclusive').map((h) => h.kind);
    expect(inconclusive).toEqual([]);
    expect(journal.breakerTransitions.length).toBeGreaterThan(0);
    expect(new Set(journal.hypotheses.map((h) => h.kind))).toEqual(new Set(Object.keys(CHECKS)));
  });

  it('a check that reads only requests or upstream calls judges the same without the rest', () => {
    const full = judge(parts);
    const outside = judge({ ...parts, breakerTransitions: [], requests: parts.requests.map(asOutsideSees) });
    const caller = judge({ ...parts, breakerTransitions: [], requests: parts.requests.map(asCallerSees) });
    scenario.hypotheses.forEach((h, i) => {
      const needs = CHECKS[h.type].needs;
      if (needs === 'internals') return;
      expect(outside[i], `${h.type} reads more than upstream calls`).toEqual(full[i]);
      if (needs === 'requests') expect(caller[i], `${h.type} reads more than requests`).toEqual(full[i]);
    });
  });

  it('a check that claims the internals needs them: without them it judges otherwise', () => {
    const full = judge(parts);
    const outside = judge({ ...parts, breakerTransitions: [], requests: parts.requests.map(asOutsideSees) });
    scenario.hypotheses.forEach((h, i) => {
      if (CHECKS[h.type].needs === 'internals') expect(outside[i], h.type).not.toEqual(full[i]);
    });
  });

  it('what a target cannot show is not observable and never passes; what it showed in part is kept', () => {
    const results = evaluateHypotheses(scenario, parts, {
      internals: { why: 'hidden here' },
      'upstream-calls': { why: '2 calls untied', partly: true },
    });
    scenario.hypotheses.forEach((h, i) => {
      const result = results[i]!;
      const own = journal.hypotheses[i]!;
      const needs = CHECKS[h.type].needs;
      if (needs === 'requests') {
        expect(result).toEqual(own);
        return;
      }
      expect(result).toMatchObject({ verdict: 'inconclusive', passed: false, evaluable: false });
      expect(result.actual.startsWith(`${NOT_OBSERVABLE_PREFIX}: `)).toBe(true);
      if (needs === 'internals') {
        expect(result.actual).toContain('hidden here');
        expect(result.examples).toEqual([]);
      } else {
        expect(result.actual).toContain(`2 calls untied; over the rest: ${own.actual}`);
        expect(result.examples).toEqual(own.examples);
      }
    });
  });
});
