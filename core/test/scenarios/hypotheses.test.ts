import { describe, expect, it } from 'vitest';
import { routerConfigSchema } from '../../src/runtime/config/schema.ts';
import {
  type AttemptSummary,
  evaluateHypotheses,
  hypothesisSchema,
  inPhase,
  type JournalParts,
  percentile,
  type RequestRecord,
} from '../../src/scenarios/index.ts';

/** Hypotheses on hand-made journals: each check's arithmetic, phases and examples. */

const config = routerConfigSchema.parse({
  deployments: [
    { id: 'a', provider: 'openai', model: 'gpt-4o-mini' },
    { id: 'b', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
  ],
  budgets: [{ tenant: 'acme', period: 'minute', limitUsd: 1 }],
});

let counter = 0;
function request(
  startMs: number,
  outcome: 'success' | 'error',
  extra: Partial<RequestRecord> = {},
): RequestRecord {
  const attempts: AttemptSummary[] = extra.attempts ?? [
    { deployment: 'a', startMs, endMs: startMs + 100, outcome, costUsd: 0.01 },
  ];
  return {
    id: `r${++counter}`,
    startMs,
    endMs: startMs + 100,
    latencyMs: 100,
    stream: false,
    tags: [],
    route: 'chat',
    outcome,
    fellBack: false,
    cache: 'off',
    costUsd: attempts.reduce((s, a) => s + a.costUsd, 0),
    wastedUsd: 0,
    skipped: [],
    ...(outcome === 'success' ? { finalDeployment: attempts.at(-1)!.deployment } : {}),
    ...extra,
    attempts,
  };
}

function check(hypotheses: unknown[], parts: Partial<JournalParts>) {
  return evaluateHypotheses(
    {
      hypotheses: hypotheses.map((h) => hypothesisSchema.parse(h)),
      hypothesisLines: hypotheses.map((_, i) => 10 + i),
    },
    { requests: [], faultWindows: [], breakerTransitions: [], durationMs: 60_000, config, ...parts },
  );
}

const window = { ruleId: 'w', fault: 'server_error', target: '*', fromMs: 10_000, toMs: 20_000 };

describe('phases', () => {
  const requests = [request(1_000, 'success'), request(15_000, 'error'), request(25_000, 'success')];
  it('before / during / after split on the union of fault windows', () => {
    expect(inPhase(requests, [window], 'before').map((r) => r.startMs)).toEqual([1_000]);
    expect(inPhase(requests, [window], 'during').map((r) => r.startMs)).toEqual([15_000]);
    expect(inPhase(requests, [window], 'after').map((r) => r.startMs)).toEqual([25_000]);
    expect(inPhase(requests, [], 'during')).toEqual([]);
  });

  it('a phased success rate reports expected, actual, line and failing examples', () => {
    const [during, overall] = check(
      [
        { type: 'success_rate', atLeast: 0.9, phase: 'during' },
        { type: 'success_rate', atLeast: 0.6 },
      ],
      { requests, faultWindows: [window] },
    );
    expect(during).toMatchObject({
      passed: false,
      phase: 'during',
      line: 10,
      expected: '≥ 90%',
      examples: [requests[1]!.id],
    });
    expect(during!.actual).toBe('0% (0/1)');
    expect(overall).toMatchObject({ passed: true, line: 11, actual: '66.67% (2/3)' });
  });

  it('a hypothesis that selects no traffic is inconclusive, and fails the run unless allowed', () => {
    const [result, allowed] = check(
      [
        { type: 'success_rate', atLeast: 0.5, phase: 'after' },
        { type: 'success_rate', atLeast: 0.5, phase: 'after', allowInconclusive: true },
      ],
      { requests: [] },
    );
    expect(result).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(result!.actual).toMatch(/^inconclusive: no matching requests/);
    expect(allowed).toMatchObject({ verdict: 'inconclusive', passed: true, allowInconclusive: true });
  });
});

describe('checks', () => {
  it('latency percentiles use nearest rank over successes', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 95)).toBe(100);
    const slow = request(0, 'success', { latencyMs: 3_000 });
    const results = check([{ type: 'latency', percentile: 'p99', atMost: '2s' }], {
      requests: [request(0, 'success'), slow, request(0, 'error', { latencyMs: 9_000 })],
    });
    expect(results[0]).toMatchObject({ passed: false, examples: [slow.id] });
  });

  it('recovery time is measured from the end of the fault window until the rate stays up', () => {
    const requests = [
      request(21_000, 'error'),
      request(22_000, 'success'),
      request(31_000, 'success'),
      request(41_000, 'success'),
    ];
    const [fast, slow] = check(
      [
        { type: 'recovery_time', atMost: '10s', threshold: 0.9, bucket: '10s' },
        { type: 'recovery_time', atMost: '5s', threshold: 0.9, bucket: '10s' },
      ],
      { requests, faultWindows: [window] },
    );
    expect(fast).toMatchObject({ passed: true, actual: '10000 ms (buckets of 10000 ms)' });
    expect(slow).toMatchObject({ passed: false, examples: [requests[0]!.id] });
  });

  it('budget periods are counted per tenant on the clock (UTC minutes here)', () => {
    const origin = Date.UTC(2026, 0, 1);
    const spend = (startMs: number) =>
      request(startMs, 'success', {
        tenant: 'acme',
        attempts: [{ deployment: 'a', startMs, endMs: startMs + 10, outcome: 'success', costUsd: 0.6 }],
      });
    // Two in the same minute exceed the $1 limit; two in different minutes do not.
    const over = check([{ type: 'budget_never_exceeded' }], {
      requests: [spend(1_000), spend(2_000)],
      clockOriginMs: origin,
    });
    const fine = check([{ type: 'budget_never_exceeded' }], {
      requests: [spend(1_000), spend(61_000)],
      clockOriginMs: origin,
    });
    expect(over[0]!.passed).toBe(false);
    expect(over[0]!.actual).toMatch(/acme 2026-01-01T00:00/);
    expect(fine[0]!.passed).toBe(true);
  });

  it('fallback_path compares the collapsed sequence of deployments tried', () => {
    const viaB = request(0, 'success', {
      tags: ['vip'],
      attempts: [
        {
          deployment: 'a',
          startMs: 0,
          endMs: 1,
          outcome: 'error',
          errorKind: 'server_error',
          next: 'retry',
          costUsd: 0,
        },
        {
          deployment: 'a',
          startMs: 5,
          endMs: 6,
          outcome: 'error',
          errorKind: 'server_error',
          next: 'fallback',
          costUsd: 0,
        },
        { deployment: 'b', startMs: 6, endMs: 9, outcome: 'success', costUsd: 0.01 },
      ],
    });
    const stayedOnA = request(0, 'success', { tags: ['vip'] });
    const other = request(0, 'success');
    const [result] = check(
      [{ type: 'fallback_path', where: { tags: ['vip'] }, path: ['a', 'b'], atLeast: 1 }],
      {
        requests: [viaB, stayedOnA, other],
      },
    );
    expect(result).toMatchObject({ passed: false, examples: [stayedOnA.id] });
    expect(result!.actual).toMatch(/^50% \(1\/2\)/);
  });

  it('a retry that starts before its Retry-After is caught', () => {
    const early = request(0, 'success', {
      attempts: [
        {
          deployment: 'a',
          startMs: 0,
          endMs: 10,
          outcome: 'error',
          errorKind: 'rate_limited',
          next: 'retry',
          costUsd: 0,
          retryAfterSentMs: 1_000,
        },
        { deployment: 'a', startMs: 500, endMs: 600, outcome: 'success', costUsd: 0.01 },
      ],
    });
    const [result] = check([{ type: 'retry_after_respected' }], { requests: [early] });
    expect(result).toMatchObject({ passed: false, examples: [early.id] });
    expect(result!.actual).toMatch(/510 ms early/);
  });

  it('a breaker whose half-open period lets two attempts through fails the single-probe check', () => {
    const at = (deployment: string, startMs: number, outcome: 'success' | 'error') =>
      request(startMs, outcome, {
        attempts: [{ deployment, startMs, endMs: startMs + 5, outcome, costUsd: 0 }],
      });
    const transitions = [
      { deployment: 'a', from: 'closed', to: 'open', atMs: 1_000 },
      { deployment: 'a', from: 'open', to: 'half-open', atMs: 6_000 },
      { deployment: 'a', from: 'half-open', to: 'closed', atMs: 6_100 },
    ];
    const [single] = check([{ type: 'breaker_recovers_with_single_probe' }], {
      requests: [at('a', 6_000, 'success')],
      breakerTransitions: transitions,
    });
    const [double] = check([{ type: 'breaker_recovers_with_single_probe' }], {
      requests: [at('a', 6_000, 'success'), at('a', 6_050, 'success')],
      breakerTransitions: transitions,
    });
    expect(single!.passed).toBe(true);
    expect(double!.passed).toBe(false);
    expect(double!.examples).toHaveLength(2);
  });

  it('duplicated stream text is reported with its request', () => {
    const dup = request(0, 'success', { stream: true, streamedChars: 40, duplicatedText: true });
    const [result] = check([{ type: 'no_duplicated_text' }], {
      requests: [dup, request(0, 'success', { stream: true, streamedChars: 20, duplicatedText: false })],
    });
    expect(result).toMatchObject({ passed: false, examples: [dup.id] });
  });
});

// -----------------------------------------------------------------------------------------------
// Evidence: each check fails on the records of a router that breaks it, and says when it saw nothing.

const chained = routerConfigSchema.parse({
  deployments: [
    { id: 'a', provider: 'openai', model: 'gpt-4o-mini' },
    { id: 'b', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
    { id: 'c', provider: 'ollama', model: 'llama3.2' },
  ],
  routes: [{ name: 'chat', deployments: ['a'], fallbacks: ['b', 'c'] }],
});

const attempt = (
  deployment: string,
  startMs: number,
  endMs: number,
  outcome: AttemptSummary['outcome'],
  extra: Partial<AttemptSummary> = {},
): AttemptSummary => ({ deployment, startMs, endMs, outcome, costUsd: 0, ...extra });

describe('Retry-After across requests, per deployment', () => {
  const throttled = request(0, 'success', {
    attempts: [
      attempt('a', 0, 10, 'error', { errorKind: 'rate_limited', status: 429, retryAfterSentMs: 5_000 }),
      attempt('b', 10, 400, 'success'),
    ],
  });
  it('fails when another request starts on the deployment inside the wait', () => {
    const early = request(1_000, 'success', { attempts: [attempt('a', 1_000, 1_300, 'success')] });
    const later = request(6_000, 'success', { attempts: [attempt('a', 6_000, 6_300, 'success')] });
    const [bad] = check([{ type: 'retry_after_respected_across_requests' }], {
      requests: [throttled, early, later],
    });
    expect(bad).toMatchObject({ verdict: 'failed', examples: [early.id] });
    expect(bad!.actual).toMatch(/4010 ms early/);
    const [good] = check([{ type: 'retry_after_respected_across_requests' }], {
      requests: [throttled, later],
    });
    expect(good).toMatchObject({ verdict: 'passed', passed: true });
  });

  it('an attempt that started at the same instant elsewhere had not seen the answer; its own retry had', () => {
    const sameInstant = request(10, 'success', { attempts: [attempt('a', 10, 300, 'success')] });
    const [other] = check([{ type: 'retry_after_respected_across_requests' }], {
      requests: [throttled, sameInstant],
    });
    expect(other!.verdict).toBe('passed');
    const retriedAtOnce = request(0, 'success', {
      attempts: [
        attempt('a', 0, 10, 'error', { retryAfterSentMs: 5_000, next: 'retry' }),
        attempt('a', 10, 300, 'success'),
      ],
    });
    const [own] = check([{ type: 'retry_after_respected_across_requests' }], { requests: [retriedAtOnce] });
    expect(own!.verdict).toBe('failed');
  });

  it('uses the wait the provider sent over the one the router read (an HTTP date read as 0)', () => {
    const misread = request(0, 'success', {
      attempts: [
        attempt('a', 0, 10, 'error', { retryAfterMs: 0, retryAfterSentMs: 30_000, next: 'retry' }),
        attempt('a', 10, 300, 'success'),
      ],
    });
    const [within] = check([{ type: 'retry_after_respected' }], { requests: [misread] });
    expect(within!.verdict).toBe('failed');
  });

  it('is inconclusive when no answer asked to wait', () => {
    const [none] = check([{ type: 'retry_after_respected_across_requests' }], {
      requests: [request(0, 'success')],
    });
    expect(none).toMatchObject({ verdict: 'inconclusive', passed: false });
    const [within] = check([{ type: 'retry_after_respected' }], { requests: [throttled] });
    expect(within!.verdict).toBe('inconclusive');
  });
});

describe('breaker thrash', () => {
  const w = { ruleId: 'outage', fault: 'server_error', target: '*', fromMs: 0, toMs: 60_000 };
  const opensAt = (...times: number[]) =>
    times.flatMap((t) => [
      { deployment: 'a', from: 'closed', to: 'open', atMs: t },
      { deployment: 'a', from: 'open', to: 'closed', atMs: t + 1_000 },
    ]);
  it('fails past N opens in one fault window, passes at N, and is inconclusive with none', () => {
    const hyp = [{ type: 'breaker_thrash', atMost: 2 }];
    const [thrash] = check(hyp, { faultWindows: [w], breakerTransitions: opensAt(1_000, 10_000, 20_000) });
    expect(thrash).toMatchObject({ verdict: 'failed' });
    expect(thrash!.actual).toMatch(/a: 3 opens in outage/);
    const [calm] = check(hyp, { faultWindows: [w], breakerTransitions: opensAt(1_000, 10_000, 70_000) });
    expect(calm!.verdict).toBe('passed');
    const [none] = check(hyp, { faultWindows: [w], breakerTransitions: [] });
    expect(none!.verdict).toBe('inconclusive');
  });
});

describe('every fallback tried', () => {
  const hyp = [{ type: 'every_fallback_tried' }];
  it('fails a request that gave up with a deployment of its chain untouched', () => {
    const gaveUp = request(0, 'error', {
      errorKind: 'server_error',
      attempts: [attempt('a', 0, 10, 'error', { errorKind: 'server_error', next: 'give-up' })],
      skipped: [{ deployment: 'c', reason: 'breaker-open' }],
    });
    const [bad] = check(hyp, { requests: [gaveUp], config: chained });
    expect(bad).toMatchObject({ verdict: 'failed', examples: [gaveUp.id] });
    expect(bad!.actual).toMatch(/never reached b/);
  });

  it('passes a request that tried or skipped everything, and exempts errors no deployment can fix', () => {
    const walked = request(0, 'error', {
      errorKind: 'server_error',
      attempts: [
        attempt('a', 0, 10, 'error', { errorKind: 'server_error' }),
        attempt('b', 10, 20, 'error', { errorKind: 'server_error' }),
      ],
      skipped: [{ deployment: 'c', reason: 'budget' }],
    });
    const badRequest = request(0, 'error', {
      errorKind: 'bad_request',
      attempts: [attempt('a', 0, 10, 'error', { errorKind: 'bad_request' })],
    });
    const [good] = check(hyp, { requests: [walked, badRequest], config: chained });
    expect(good).toMatchObject({
      verdict: 'passed',
      actual: '1 failed requests, each after its whole chain',
    });
    const [none] = check(hyp, { requests: [request(0, 'success'), badRequest], config: chained });
    expect(none!.verdict).toBe('inconclusive');
  });
});

describe('no deadline death with a healthy fallback', () => {
  const hyp = [{ type: 'no_deadline_death_with_healthy_fallback' }];
  const died = request(0, 'error', {
    errorKind: 'timeout',
    timeoutPhase: 'total',
    endMs: 5_000,
    attempts: [attempt('a', 0, 10, 'error', { errorKind: 'rate_limited', next: 'retry' })],
  });
  it('fails when an untried fallback answered other requests meanwhile', () => {
    const healthy = request(1_000, 'success', { attempts: [attempt('b', 1_000, 1_500, 'success')] });
    const [bad] = check(hyp, { requests: [died, healthy], config: chained });
    expect(bad).toMatchObject({ verdict: 'failed', examples: [died.id] });
    expect(bad!.actual).toMatch(/while b answered others/);
  });
  it('passes when no fallback was answering, and is inconclusive when nobody had to leave a deployment', () => {
    const [ok] = check(hyp, { requests: [died], config: chained });
    expect(ok!.verdict).toBe('passed');
    const [none] = check(hyp, { requests: [request(0, 'success')], config: chained });
    expect(none!.verdict).toBe('inconclusive');
  });
});

describe('no request left hanging', () => {
  const hyp = [{ type: 'no_request_left_hanging' }];
  it('fails on a hung request or one sent and never recorded; inconclusive without the count', () => {
    const hung = { ...request(0, 'error'), hung: true as const, attempts: [] };
    const [bad] = check(hyp, { requests: [request(0, 'success'), hung], requestsSent: 2 });
    expect(bad).toMatchObject({ verdict: 'failed', examples: [hung.id] });
    const [missing] = check(hyp, { requests: [request(0, 'success')], requestsSent: 3 });
    expect(missing).toMatchObject({ verdict: 'failed', passed: false });
    expect(missing!.actual).toMatch(/2 sent but not in the journal/);
    const [good] = check(hyp, { requests: [request(0, 'success')], requestsSent: 1 });
    expect(good!.verdict).toBe('passed');
    const [unknown] = check(hyp, { requests: [request(0, 'success')] });
    expect(unknown!.verdict).toBe('inconclusive');
  });
});

describe('no duplicated text, from what the caller got against what each attempt delivered', () => {
  const hyp = [{ type: 'no_duplicated_text' }];
  const stream = (extra: Partial<RequestRecord>) => request(0, 'error', { stream: true, ...extra });
  it('fails when two attempts delivered text, or the caller got other text than the router says', () => {
    const restarted = stream({
      streamedChars: 70,
      streamedHash: 'ab',
      deliveredChars: 70,
      deliveredHash: 'ab',
      attempts: [
        attempt('a', 0, 10, 'error', { deliveredChars: 20, deliveredHash: 'x' }),
        attempt('b', 10, 20, 'success', { deliveredChars: 50, deliveredHash: 'y' }),
      ],
    });
    const replayed = stream({
      streamedChars: 60,
      streamedHash: 'zz',
      deliveredChars: 40,
      deliveredHash: 'yy',
      attempts: [attempt('a', 0, 10, 'error', { deliveredChars: 40, deliveredHash: 'yy' })],
    });
    // A router that hashes nothing is still held to its character count.
    // Its total must match what the caller got, too (here its attempts' account says 60, its total 40).
    const unhashed = stream({
      streamedChars: 60,
      deliveredChars: 40,
      attempts: [attempt('a', 0, 10, 'error', { deliveredChars: 60 })],
    });
    const [bad] = check(hyp, { requests: [restarted, replayed, unhashed] });
    expect(bad).toMatchObject({ verdict: 'failed', examples: [restarted.id, replayed.id, unhashed.id] });
    expect(bad!.actual).toMatch(/text from 2 attempts/);
    expect(bad!.actual).toMatch(/other text than the router says/);
  });

  it('passes a mid-stream failure surfaced with exactly what was delivered', () => {
    const surfaced = stream({
      streamedChars: 40,
      streamedHash: 'yy',
      deliveredChars: 40,
      deliveredHash: 'yy',
      attempts: [attempt('a', 0, 10, 'error', { deliveredChars: 40, deliveredHash: 'yy' })],
    });
    const [good] = check(hyp, { requests: [surfaced] });
    expect(good!.verdict).toBe('passed');
  });

  it('is inconclusive without the router account, or without a stream that was at risk', () => {
    const unaccounted = stream({ streamedChars: 40, streamedHash: 'yy' });
    const [noAccount] = check(hyp, { requests: [unaccounted] });
    expect(noAccount!.verdict).toBe('inconclusive');
    expect(noAccount!.actual).toMatch(/router recorded no delivered text/);
    const calm = request(0, 'success', {
      stream: true,
      streamedChars: 40,
      streamedHash: 'yy',
      deliveredChars: 40,
      deliveredHash: 'yy',
      attempts: [attempt('a', 0, 10, 'success', { deliveredChars: 40, deliveredHash: 'yy' })],
    });
    const [nothingAtRisk] = check(hyp, { requests: [calm] });
    expect(nothingAtRisk!.verdict).toBe('inconclusive');
    expect(nothingAtRisk!.actual).toMatch(/no stream was retried, fell back, or failed/);
  });
});

describe('inconclusive where the old checks passed without evidence', () => {
  it('breakers that never opened, retries that never happened, no budget, no fault window', () => {
    const quiet = [request(0, 'success'), request(1_000, 'success')];
    const results = check(
      [
        { type: 'breaker_opens_within', failures: 3 },
        { type: 'breaker_recovers_with_single_probe' },
        { type: 'retries_spread', atMost: 2 },
        { type: 'non_retryable_not_retried' },
        { type: 'recovery_time', atMost: '10s' },
        { type: 'budget_never_exceeded', tenant: 'nobody' },
      ],
      { requests: quiet },
    );
    expect(results.map((r) => r.verdict)).toEqual([
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
      'inconclusive',
    ]);
    expect(results.every((r) => !r.passed && r.actual.startsWith('inconclusive: '))).toBe(true);
  });
});

describe('allowInconclusive', () => {
  it("'without-traffic' allows only a hypothesis that selected no request, true allows any lack of evidence", () => {
    const noStreams = [request(0, 'success')];
    const [streamsOnly, noEvidence, anything] = check(
      [
        {
          type: 'latency',
          where: { stream: true },
          percentile: 'p95',
          atMost: '1s',
          allowInconclusive: 'without-traffic',
        },
        { type: 'retries_spread', atMost: 2, allowInconclusive: 'without-traffic' },
        { type: 'retries_spread', atMost: 2, allowInconclusive: true },
      ],
      { requests: noStreams },
    );
    expect(streamsOnly).toMatchObject({ verdict: 'inconclusive', passed: true, allowInconclusive: true });
    expect(noEvidence).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(anything).toMatchObject({ verdict: 'inconclusive', passed: true });
  });
});
