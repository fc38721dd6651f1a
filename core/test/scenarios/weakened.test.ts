import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../src/runtime/config/load.ts';
import { ERROR_KINDS } from '../../src/runtime/errors.ts';
import {
  defineScenario,
  type HypothesisResult,
  loadScenario,
  runScenario,
} from '../../src/scenarios/index.ts';
import { reduced, WEAKENED_CASES } from './library.ts';

/**
 * The harness must catch a router that was made worse on purpose: each pair runs the same scenario
 * with a sound policy and with one weakened setting, and only the weakened run fails its hypothesis.
 */

function scenarioWith(
  policies: Record<string, unknown>,
  rest: Record<string, unknown>,
  route: { fallbacks?: string[] } = {},
) {
  return defineScenario({
    name: 'weakened',
    description: 'A sound policy against a deliberately weakened one.',
    seed: 3,
    router: {
      deployments: [
        { id: 'openai-main', provider: 'openai', model: 'gpt-4o-mini' },
        { id: 'anthropic-backup', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
      ],
      routes: [
        { name: 'chat', deployments: ['openai-main'], fallbacks: route.fallbacks ?? ['anthropic-backup'] },
      ],
      policies,
    },
    ...rest,
  });
}

const scenario = (policies: Record<string, unknown>, rest: Record<string, unknown>) =>
  scenarioWith(policies, rest);

async function journalOf(s: ReturnType<typeof scenarioWith>) {
  const journal = await runScenario(s);
  expect(journal.status).toBe('complete');
  return Object.fromEntries(journal.hypotheses.map((h) => [h.kind, h])) as Record<string, HypothesisResult>;
}

const verdicts = (policies: Record<string, unknown>, rest: Record<string, unknown>) =>
  journalOf(scenario(policies, rest));

describe('weakened router configs make their hypotheses fail', () => {
  it('no jitter: retries of requests that failed together start together (a retry storm)', async () => {
    // Twenty callers fail at the same instant; with full jitter their retries spread over the backoff.
    const rest = {
      load: { requests: 60, concurrency: 20 },
      faults: [{ fault: 'server_error', target: { provider: 'openai' }, to: '3s' }],
      hypotheses: [{ type: 'retries_spread', atMost: 6, window: '5ms' }],
    };
    const sound = await verdicts({ retry: { baseDelayMs: 200 }, breaker: { enabled: false } }, rest);
    const weak = await verdicts(
      { retry: { baseDelayMs: 200, jitter: 'none' }, breaker: { enabled: false } },
      rest,
    );
    expect(sound.retries_spread!.passed).toBe(true);
    expect(weak.retries_spread!.passed).toBe(false);
    expect(weak.retries_spread!.actual).toMatch(/max 20 within 5 ms/);
    expect(weak.retries_spread!.examples.length).toBeGreaterThan(0);
  });

  it('retries on everything: a 401 or an exhausted quota gets retried', async () => {
    const rest = {
      load: { requests: 100, rate: 2 },
      faults: [
        { fault: 'invalid_api_key', target: { provider: 'openai' }, rate: 0.3 },
        { fault: 'quota_exhausted', target: { provider: 'openai' }, rate: 0.2 },
      ],
      hypotheses: [
        { type: 'non_retryable_not_retried' },
        { type: 'max_attempts_per_request', atMost: 2 },
        { type: 'success_rate', atLeast: 0.99 },
      ],
    };
    // Without quota cooldowns: one exhausted quota would keep every later request away from OpenAI,
    // and this test is about what the retry policy does with the errors it gets.
    const noCooldown = { quotaExhaustedMs: 0 };
    const sound = await verdicts({ cooldown: noCooldown }, rest);
    const weak = await verdicts({ retry: { retryOn: [...ERROR_KINDS] }, cooldown: noCooldown }, rest);
    expect(sound.non_retryable_not_retried!.passed).toBe(true);
    expect(sound.non_retryable_not_retried!.actual).toMatch(/none retried/);
    expect(sound.max_attempts_per_request!.passed).toBe(true);
    expect(weak.non_retryable_not_retried!.passed).toBe(false);
    expect(weak.non_retryable_not_retried!.actual).toMatch(/auth/);
    expect(weak.max_attempts_per_request!.passed).toBe(false);
    // The fallback still rescues every request: only the retry hypotheses expose the waste.
    expect(weak.success_rate!.passed).toBe(true);
  });

  it('no breaker: an outage is hammered far past the failure threshold', async () => {
    const rest = {
      load: { requests: 120, rate: 2 },
      faults: [{ fault: 'server_error', target: { provider: 'openai' }, from: '10s', to: '40s' }],
      hypotheses: [
        { type: 'breaker_opens_within', failures: 5 },
        { type: 'breaker_recovers_with_single_probe' },
        { type: 'success_rate', atLeast: 0.99 },
      ],
    };
    const sound = await verdicts({ breaker: { consecutiveFailures: 5, openMs: 5000 } }, rest);
    const weak = await verdicts({ breaker: { enabled: false } }, rest);
    expect(sound.breaker_opens_within!.passed).toBe(true);
    expect(sound.breaker_recovers_with_single_probe!.passed).toBe(true);
    expect(sound.breaker_recovers_with_single_probe!.actual).toMatch(/each with a single probe/);
    expect(weak.breaker_opens_within!.passed).toBe(false);
    expect(weak.breaker_opens_within!.actual).toMatch(
      /failures on openai-main while its breaker stayed closed/,
    );
    expect(weak.breaker_opens_within!.examples.length).toBeGreaterThan(0);
  });
});

describe('weakened routers fail the other hypothesis types too', () => {
  it('no fallback and a long open breaker: success rate, fallback path and recovery time fail', async () => {
    const rest = {
      load: { requests: 120, rate: 2 },
      faults: [{ fault: 'server_error', target: { provider: 'openai' }, from: '10s', to: '40s' }],
      hypotheses: [
        { type: 'success_rate', atLeast: 0.99 },
        { type: 'fallback_path', phase: 'during', deployment: 'anthropic-backup', atLeast: 0.9 },
        { type: 'recovery_time', atMost: '10s', threshold: 0.99, bucket: '5s' },
      ],
    };
    const sound = await verdicts({ breaker: { consecutiveFailures: 5, openMs: 5000 } }, rest);
    const weak = await journalOf(
      scenarioWith({ breaker: { consecutiveFailures: 5, openMs: 60_000 } }, rest, { fallbacks: [] }),
    );
    for (const kind of ['success_rate', 'fallback_path', 'recovery_time'])
      expect(sound[kind]!.verdict, kind).toBe('passed');
    expect(weak.success_rate!.verdict).toBe('failed');
    expect(weak.fallback_path!.verdict).toBe('failed');
    expect(weak.recovery_time!.verdict).toBe('failed');
  });

  it('hedging off or on every call: tail latency, wasted spend and cost per success fail', async () => {
    const rest = {
      load: { requests: 150, rate: 2, maxOutputTokens: 128 },
      faults: [
        {
          fault: 'slow_first_token',
          params: { delayMs: 8000 },
          target: { provider: 'openai' },
          rate: 0.33,
          from: '10s',
          to: '60s',
        },
      ],
      hypotheses: [
        { type: 'latency', phase: 'during', percentile: 'p95', atMost: '6s' },
        // Sound: ~2% wasted, $0.00023 a success (hedge losers that outlived the p95 count as slow
        // calls, so the slow primary's breaker opens and some traffic moves to the dearer backup);
        // hedging every call: ~16%, $0.00030.
        { type: 'wasted_spend', atMostShare: 0.1 },
        { type: 'cost_per_success', atMostUsd: 0.00026 },
      ],
    };
    const hedge = { enabled: true, delay: 'p95', fallbackDelayMs: 2500 };
    const sound = await verdicts({ hedge }, rest);
    const none = await verdicts({ hedge: { ...hedge, enabled: false } }, rest);
    const always = await verdicts({ hedge: { ...hedge, delay: 0 } }, rest);
    expect([sound.latency!.verdict, sound.wasted_spend!.verdict, sound.cost_per_success!.verdict]).toEqual([
      'passed',
      'passed',
      'passed',
    ]);
    expect(none.latency!.verdict).toBe('failed');
    expect(always.wasted_spend!.verdict).toBe('failed');
    expect(always.cost_per_success!.verdict).toBe('failed');
  });

  it('a Retry-After given as an HTTP date is read on the run clock (issue 10, router defect 6)', async () => {
    // The provider asks for 4 s as an HTTP date on the run's clock. The router used to measure the
    // date against Date.now(), read 0 ms and retry at once; retry_after_respected sees it from the
    // wait the harness sent (retryAfterSentMs), so on that router both hypotheses failed.
    const rest = {
      load: { requests: 60, rate: 2 },
      faults: [
        {
          fault: 'service_unavailable',
          target: { provider: 'openai' },
          retryAfter: { after: '4s', as: 'http-date' },
          rate: 0.5,
          from: '5s',
          to: '25s',
        },
      ],
      hypotheses: [{ type: 'retry_after_respected' }, { type: 'retry_after_respected_across_requests' }],
    };
    const journal = await runScenario(scenario({ breaker: { enabled: false } }, rest));
    const byKind = Object.fromEntries(journal.hypotheses.map((h) => [h.kind, h]));
    const sent = journal.requests.flatMap((r) => r.attempts).filter((a) => a.retryAfterSentMs !== undefined);
    // Each 503 puts the deployment in cooldown for its 4 s, so few requests meet the fault.
    expect(sent.length).toBeGreaterThan(2);
    // Rounded up to the whole second of the date: never less than the 4 s asked for.
    expect(sent.every((a) => a.retryAfterSentMs! >= 4000 && a.retryAfterSentMs! <= 5000)).toBe(true);
    expect(byKind.retry_after_respected!.verdict).toBe('passed');
    expect(byKind.retry_after_respected_across_requests!.verdict).toBe('passed');
  });
});

describe('a request that never ends', () => {
  it('is recorded as hung when the run drains, and fails no_request_left_hanging and the success rate', async () => {
    const day = 86_400_000;
    const rest = {
      load: { requests: 40, rate: 2, duration: '20s', drainTimeout: '30s' },
      faults: [{ fault: 'no_response', target: { provider: 'openai' }, rate: 0.2 }],
      hypotheses: [{ type: 'no_request_left_hanging' }, { type: 'success_rate', atLeast: 0.99 }],
    };
    const journal = await runScenario(
      scenario(
        { timeouts: { headersMs: day, attemptMs: day, totalMs: day }, breaker: { enabled: false } },
        rest,
      ),
    );
    expect(journal.status).toBe('complete');
    expect(journal.requestsSent).toBe(40);
    const hung = journal.requests.filter((r) => r.hung);
    expect(hung.length).toBeGreaterThan(0);
    expect(hung.every((r) => r.outcome === 'error' && r.attempts.length === 0)).toBe(true);
    const [hanging, success] = journal.hypotheses;
    expect(hanging).toMatchObject({ verdict: 'failed', examples: hung.slice(0, 5).map((r) => r.id) });
    expect(success!.verdict).toBe('failed');
    expect(journal.verdict).toBe('failed');
  });
});

const ROOT = join(import.meta.dirname, '../../..');

/** The hypothesis types issue 10 added: each must have a weakened config that it catches. */
const ISSUE_10_TYPES = [
  'retry_after_respected_across_requests',
  'breaker_thrash',
  'every_fallback_tried',
  'no_deadline_death_with_healthy_fallback',
  'no_request_left_hanging',
];

describe('the shipped weakened configs (scenarios/weakened/), in process at reduced load', () => {
  it('each config has its case, and each hypothesis type of issue 10 a config that it catches', async () => {
    const configs = readdirSync(join(ROOT, 'scenarios/weakened')).filter((f) => f.endsWith('.yaml'));
    expect(WEAKENED_CASES.map((c) => c.config.replace('scenarios/weakened/', '')).sort()).toEqual(
      configs.sort(),
    );
    const caught = new Set<string>();
    for (const c of WEAKENED_CASES)
      for (const file of c.scenarios) {
        const scenario = await loadScenario(join(ROOT, file));
        const ids: readonly string[] = c.mustFail[scenario.name as keyof typeof c.mustFail] ?? [];
        for (const h of scenario.hypotheses) if (h.id !== undefined && ids.includes(h.id)) caught.add(h.type);
      }
    for (const type of ISSUE_10_TYPES) expect(caught, type).toContain(type);
  });

  for (const c of WEAKENED_CASES)
    for (const file of c.scenarios) {
      it(`${c.config} fails ${file} on evidence`, async () => {
        const scenario = await loadScenario(join(ROOT, file));
        const router = await loadRouterConfig(join(ROOT, c.config));
        const journal = await runScenario(reduced({ ...scenario, router }));
        expect(journal.status).toBe('complete');
        const ids: readonly string[] = c.mustFail[scenario.name as keyof typeof c.mustFail];
        const verdicts = journal.hypotheses.filter((h) => ids.includes(h.id)).map((h) => [h.id, h.verdict]);
        expect(verdicts).toEqual(ids.map((id) => [id, 'failed']));
      }, 60_000);
    }
});
