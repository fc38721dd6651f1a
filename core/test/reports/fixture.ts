import { mulberry32 } from '../../src/faults/chaos/prng.ts';
import { isFallback, percentile } from '../../src/reports/stats.ts';
import type {
  AttemptSummary,
  HypothesisResult,
  RequestRecord,
  RunJournal,
} from '../../src/scenarios/journal.ts';

/**
 * A realistic run journal, simulated here so the reports can be built before (and tested apart
 * from) the scenario runner: ~300 requests over 10 simulated minutes, 503s on the primary from 2:00
 * to 5:00 with Retry-After retries and failover, a breaker that opens, probes, and closes again,
 * hedges with wasted spend, a short 429 burst, a few requests that fail outright, and hypotheses of
 * which some fail. Deterministic for a seed.
 */

export const PRIMARY = 'openai-gpt-4o';
export const SECONDARY = 'anthropic-sonnet';
export const TERTIARY = 'ollama-llama3';

export interface FixtureOptions {
  seed?: number;
  requests?: number;
  durationMs?: number;
  name?: string;
  description?: string;
  /** Cut the run at this share of its duration and mark it interrupted. */
  interruptAt?: number;
}

export function makeJournal(options: FixtureOptions = {}): RunJournal {
  const seed = options.seed ?? 7;
  const count = options.requests ?? 300;
  const durationMs = options.durationMs ?? 600_000;
  const rand = mulberry32(seed);
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));

  const outage = { fromMs: durationMs * 0.2, toMs: durationMs * 0.5 };
  const burst = { fromMs: durationMs * 0.7, toMs: durationMs * 0.725 };
  const inOutage = (t: number) => t >= outage.fromMs && t < outage.toMs;
  const inBurst = (t: number) => t >= burst.fromMs && t < burst.toMs;

  const transitions: RunJournal['breakerTransitions'] = [];
  let breaker = 'closed' as 'closed' | 'open' | 'half_open';
  let failures = 0;
  let openUntil = 0;
  const setBreaker = (to: typeof breaker, atMs: number) => {
    transitions.push({ deployment: PRIMARY, from: breaker, to, atMs });
    breaker = to;
  };
  const primaryFailed = (atMs: number) => {
    failures++;
    if (breaker === 'half_open' || (breaker === 'closed' && failures >= 5)) {
      setBreaker('open', atMs);
      openUntil = atMs + 30_000;
    }
  };

  const requests: RequestRecord[] = [];
  const injected = { 'openai-503': 0, 'openai-429': 0 };
  const spacing = durationMs / count;

  for (let i = 0; i < count; i++) {
    const startMs = Math.round(i * spacing + rand() * spacing * 0.8);
    const stream = rand() < 0.4;
    const attempts: AttemptSummary[] = [];
    const skipped: RequestRecord['skipped'] = [];
    let t = startMs;
    let wasted = 0;
    let ttftMs: number | undefined;
    let finalDeployment: string | undefined;
    let errorKind: RequestRecord['errorKind'];

    const succeed = (deployment: string, lo: number, hi: number, costLo: number, costHi: number) => {
      const took = between(lo, hi);
      attempts.push({
        deployment,
        startMs: t,
        endMs: t + took,
        outcome: 'success',
        costUsd: between(costLo * 1e6, costHi * 1e6) / 1e6,
      });
      if (stream) ttftMs = t - startMs + Math.round(took * (0.25 + rand() * 0.15));
      t += took;
      finalDeployment = deployment;
    };
    const fail = (
      deployment: string,
      status: number | undefined,
      kind: RequestRecord['errorKind'],
      took: number,
    ) => {
      const a: AttemptSummary = { deployment, startMs: t, endMs: t + took, outcome: 'error', costUsd: 0 };
      if (kind) a.errorKind = kind;
      if (status) a.status = status;
      attempts.push(a);
      t += took;
      return a;
    };
    const secondary = (loaded: boolean) => {
      if (loaded && rand() < 0.07) {
        const a = fail(SECONDARY, 529, 'overloaded', between(80, 200));
        a.next = TERTIARY;
        if (rand() < 0.55) succeed(TERTIARY, 1_400, 2_600, 0, 0);
        else {
          fail(TERTIARY, undefined, 'timeout', 3_000);
          errorKind = 'timeout';
        }
        return;
      }
      succeed(SECONDARY, loaded ? 700 : 600, loaded ? 1_700 : 1_200, 0.004, 0.006);
    };

    // The breaker is checked when the request starts.
    if (breaker === 'open' && t >= openUntil) setBreaker('half_open', openUntil);
    if (breaker === 'open') {
      skipped.push({ deployment: PRIMARY, reason: 'circuit_open' });
      secondary(inOutage(t));
    } else if (breaker === 'half_open') {
      // This request carries the single probe.
      if (inOutage(t)) {
        const a = fail(PRIMARY, 503, 'server_error', between(40, 120));
        a.probe = true;
        a.next = SECONDARY;
        injected['openai-503']++;
        primaryFailed(t);
        secondary(true);
      } else {
        succeed(PRIMARY, 450, 1_000, 0.002, 0.0035);
        attempts[0]!.probe = true;
        failures = 0;
        setBreaker('closed', t);
      }
    } else if (inOutage(t)) {
      // 503 with Retry-After: 1 — one retry on the same deployment, then failover.
      const first = fail(PRIMARY, 503, 'server_error', between(40, 120));
      injected['openai-503']++;
      primaryFailed(t);
      first.delayBeforeNextMs = 1_000;
      first.delayReason = 'retry-after';
      first.next = PRIMARY;
      const notBefore = t + 1_000;
      t = notBefore;
      if (breaker === 'closed') {
        first.retryAfterSentMs = notBefore - first.endMs;
        const second = fail(PRIMARY, 503, 'server_error', between(40, 120));
        second.next = SECONDARY;
        injected['openai-503']++;
        primaryFailed(t);
      } else {
        first.next = SECONDARY;
        first.delayBeforeNextMs = undefined;
        first.delayReason = undefined;
        t -= 1_000;
      }
      secondary(true);
    } else if (inBurst(t)) {
      const first = fail(PRIMARY, 429, 'rate_limited', between(20, 60));
      injected['openai-429']++;
      first.delayBeforeNextMs = 2_000;
      first.delayReason = 'retry-after';
      first.next = PRIMARY;
      t += 2_000;
      first.retryAfterSentMs = t - first.endMs;
      succeed(PRIMARY, 450, 1_000, 0.002, 0.0035);
      failures = 0;
    } else if (i % 13 === 5) {
      // Hedge: the primary is slow, a second request races it and one of the two is abandoned.
      const hedgeAt = t + 800;
      const primaryTook = between(1_300, 2_200);
      const hedgeTook = between(600, 1_100);
      const hedgeWins = hedgeAt + hedgeTook < t + primaryTook;
      const end = hedgeWins ? hedgeAt + hedgeTook : t + primaryTook;
      const loserCost = between(300, 900) / 1e6;
      attempts.push({
        deployment: PRIMARY,
        startMs: t,
        endMs: end,
        outcome: hedgeWins ? 'aborted' : 'success',
        costUsd: hedgeWins ? loserCost : between(2_000, 3_500) / 1e6,
      });
      attempts.push({
        deployment: SECONDARY,
        startMs: hedgeAt,
        endMs: end,
        outcome: hedgeWins ? 'success' : 'aborted',
        hedge: true,
        costUsd: hedgeWins ? between(4_000, 6_000) / 1e6 : loserCost,
      });
      wasted = loserCost;
      finalDeployment = hedgeWins ? SECONDARY : PRIMARY;
      if (stream) ttftMs = Math.round((end - startMs) * 0.3);
      t = end;
      failures = 0;
    } else {
      succeed(PRIMARY, 450, 1_000, 0.002, 0.0035);
      failures = 0;
    }

    const outcome = finalDeployment ? 'success' : 'error';
    const firstTried = attempts.find((a) => !a.hedge)?.deployment;
    const request: RequestRecord = {
      id: `req-${String(i + 1).padStart(4, '0')}`,
      startMs,
      endMs: t,
      latencyMs: t - startMs,
      stream,
      tags: stream ? ['chat', 'stream'] : ['chat'],
      route: 'chat',
      outcome,
      fellBack: outcome === 'success' && firstTried !== undefined && finalDeployment !== firstTried,
      cache: 'off',
      costUsd: attempts.reduce((s, a) => s + a.costUsd, 0),
      wastedUsd: wasted,
      attempts,
      skipped,
    };
    if (i % 3 === 0) request.tenant = 'acme';
    if (outcome === 'success') request.finalDeployment = finalDeployment;
    else request.errorKind = errorKind ?? 'server_error';
    if (stream && outcome === 'success') {
      request.ttftMs = ttftMs ?? Math.round(request.latencyMs * 0.3);
      request.streamedChars = between(200, 1_800);
      request.duplicatedText = false;
    }
    requests.push(request);
  }

  const journal: RunJournal = {
    schemaVersion: 2,
    runId: `run-${seed}-0001`,
    status: 'complete',
    wall: {
      startedAt: '2026-03-01T09:30:00.000Z',
      finishedAt: '2026-03-01T09:30:04.250Z',
      durationMs: 4_250,
    },
    scenario: {
      name: options.name ?? 'Primary 503 outage with failover',
      description:
        options.description ??
        'OpenAI answers 503 for three minutes; the router must retry per Retry-After, open the breaker, fail over to Anthropic and come back once OpenAI recovers.',
      file: 'scenarios/primary-503-outage.yaml',
      seed,
    },
    versions: {
      switchyard: '0.1.0',
      node: 'v24.21.0',
      sdks: { openai: '7.57.0', '@anthropic-ai/sdk': '1.12.0' },
    },
    mode: 'virtual',
    config: { routes: { chat: { deployments: [PRIMARY, SECONDARY, TERTIARY] } } },
    durationMs,
    faultWindows: [
      { ruleId: 'openai-503', fault: 'service_unavailable', target: PRIMARY, ...outage },
      { ruleId: 'openai-429', fault: 'rate_limit', target: PRIMARY, ...burst },
    ],
    requests,
    faultCounters: {
      requestsSeen: requests.reduce((s, r) => s + r.attempts.length, 0),
      injected,
      byTarget: { [PRIMARY]: { ...injected } },
    },
    breakerTransitions: transitions,
    hypotheses: hypothesesFor(requests, outage, transitions),
    verdict: 'passed',
  };
  journal.verdict = journal.hypotheses.every((h) => h.passed) ? 'passed' : 'failed';
  return options.interruptAt === undefined ? journal : interrupt(journal, options.interruptAt);
}

/** What the runner leaves when it is stopped part-way: what happened so far, no hypotheses evaluated. */
export function interrupt(journal: RunJournal, share: number): RunJournal {
  const cut = journal.durationMs * share;
  const requests = journal.requests.filter((r) => r.endMs <= cut);
  const injected: Record<string, number> = {};
  for (const a of requests.flatMap((r) => r.attempts)) {
    const rule = a.status === 503 ? 'openai-503' : a.status === 429 ? 'openai-429' : undefined;
    if (rule) injected[rule] = (injected[rule] ?? 0) + 1;
  }
  return {
    ...journal,
    status: 'incomplete',
    verdict: 'incomplete',
    wall: { startedAt: journal.wall.startedAt },
    durationMs: cut,
    requests,
    faultWindows: journal.faultWindows
      .filter((w) => w.fromMs < cut)
      .map((w) => ({ ...w, toMs: Math.min(w.toMs, cut) })),
    breakerTransitions: journal.breakerTransitions.filter((t) => t.atMs <= cut),
    faultCounters: {
      requestsSeen: requests.reduce((n, r) => n + r.attempts.length, 0),
      injected,
      byTarget: { [PRIMARY]: { ...injected } },
    },
    hypotheses: [],
  };
}

function hypothesesFor(
  requests: RequestRecord[],
  outage: { fromMs: number; toMs: number },
  transitions: RunJournal['breakerTransitions'],
): HypothesisResult[] {
  const during = requests.filter((r) => r.startMs >= outage.fromMs && r.startMs < outage.toMs);
  const before = requests.filter((r) => r.startMs < outage.fromMs);
  const ok = (list: RequestRecord[]) => list.filter((r) => r.outcome === 'success');
  const sortedLatency = (list: RequestRecord[]) =>
    ok(list)
      .map((r) => r.latencyMs)
      .sort((a, b) => a - b);
  const failed = requests.filter((r) => r.outcome === 'error');
  const successRate = ok(requests).length / requests.length;
  const p95During = percentile(sortedLatency(during), 95) ?? 0;
  const p99During = percentile(sortedLatency(during), 99) ?? 0;
  const ttftBefore = percentile(
    ok(before)
      .flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs]))
      .sort((a, b) => a - b),
    95,
  );
  const slowest = ok(during)
    .filter((r) => r.latencyMs > 2_000)
    .sort((a, b) => b.latencyMs - a.latencyMs);
  const cost = requests.reduce((s, r) => s + r.costUsd, 0);
  const wasted = requests.reduce((s, r) => s + r.wastedUsd, 0);
  const opened = transitions.find((t) => t.to === 'open');
  const closed = transitions.findLast((t) => t.to === 'closed');
  const fellOver = ok(during).filter(isFallback);
  const line = (n: number) => 12 + n * 6;
  return [
    {
      id: 'availability',
      kind: 'success_rate',
      description: 'at least 99% of requests succeed',
      line: line(0),
      phase: 'overall',
      passed: successRate >= 0.99,
      expected: '≥ 99.0%',
      actual: `${(successRate * 100).toFixed(1)}% (${failed.length} of ${requests.length} failed)`,
      examples: failed.map((r) => r.id),
    },
    {
      id: 'baseline-ttft',
      kind: 'latency',
      description: 'streams start fast before the outage (p95 TTFT)',
      line: line(1),
      phase: 'before',
      passed: (ttftBefore ?? 0) <= 600,
      expected: 'p95 TTFT ≤ 600 ms',
      actual: `p95 TTFT ${ttftBefore} ms`,
      examples: [],
    },
    {
      id: 'failover-latency-p95',
      kind: 'latency',
      description: 'p95 latency stays under 3 s while failing over',
      line: line(2),
      phase: 'during',
      passed: p95During <= 3_000,
      expected: 'p95 ≤ 3000 ms',
      actual: `p95 ${p95During} ms`,
      examples: [],
    },
    {
      id: 'failover-latency-p99',
      kind: 'latency',
      description: 'p99 latency stays under 2 s while failing over',
      line: line(3),
      phase: 'during',
      passed: p99During <= 2_000,
      expected: 'p99 ≤ 2000 ms',
      actual: `p99 ${p99During} ms (${slowest.length} requests over 2000 ms)`,
      examples: slowest.map((r) => r.id),
    },
    {
      id: 'retry-after',
      kind: 'retry_after_respected',
      description: 'every retry waits for Retry-After',
      line: line(4),
      phase: 'overall',
      passed: true,
      expected: 'no retry before Retry-After allows it',
      actual: 'all retries waited (0 early)',
      examples: [],
    },
    {
      id: 'breaker-opens',
      kind: 'breaker_opens_within',
      description: `the breaker on ${PRIMARY} opens within 5 failures`,
      line: line(5),
      phase: 'during',
      passed: opened !== undefined,
      expected: 'open after ≤ 5 consecutive failures',
      actual: opened ? `opened after 5 failures at ${(opened.atMs / 1000).toFixed(1)} s` : 'never opened',
      examples: [],
    },
    {
      id: 'fallback-path',
      kind: 'fallback_path',
      description: `requests end on ${SECONDARY} during the outage`,
      line: line(6),
      phase: 'during',
      passed:
        fellOver.filter((r) => r.finalDeployment === SECONDARY).length / Math.max(1, fellOver.length) >= 0.9,
      expected: `≥ 90% end on ${SECONDARY}`,
      actual: `${fellOver.filter((r) => r.finalDeployment === SECONDARY).length} of ${fellOver.length}`,
      examples: [],
    },
    {
      id: 'breaker-recovers',
      kind: 'breaker_recovers_with_single_probe',
      description: 'the breaker closes again with a single probe',
      line: line(7),
      phase: 'after',
      passed: closed !== undefined,
      expected: 'closed by the end of the run, one probe per half-open',
      actual: closed ? `closed at ${(closed.atMs / 1000).toFixed(1)} s` : 'still open',
      examples: [],
    },
    {
      id: 'recovery',
      kind: 'recovery_time',
      description: 'success rate back above 95% within 30 s',
      line: line(8),
      phase: 'after',
      passed: true,
      expected: '≤ 30 s',
      actual: '0 s',
      examples: [],
    },
    {
      id: 'wasted',
      kind: 'wasted_spend',
      description: 'hedging wastes at most 5% of spend',
      line: line(9),
      phase: 'overall',
      passed: wasted / cost <= 0.05,
      expected: '≤ 5.0% of spend',
      actual: `${((wasted / cost) * 100).toFixed(1)}% ($${wasted.toFixed(4)} of $${cost.toFixed(4)})`,
      examples: [],
    },
  ];
}

/** Strings that break naive escaping in XML, HTML and Markdown. */
export const NASTY =
  `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> & "quotes" 'apos' ]]> | pipe *star* \u0001ctl \uD800 ` +
  '`tick` </script><!--';
