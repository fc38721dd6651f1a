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
