import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../src/runtime/errors.ts';
import { defineScenario, type HypothesisResult, runScenario } from '../../src/scenarios/index.ts';

/**
 * The harness must catch a router that was made worse on purpose: each pair runs the same scenario
 * with a sound policy and with one weakened setting, and only the weakened run fails its hypothesis.
 */

function scenario(policies: Record<string, unknown>, rest: Record<string, unknown>) {
  return defineScenario({
    name: 'weakened',
    description: 'A sound policy against a deliberately weakened one.',
    seed: 3,
    router: {
      deployments: [
        { id: 'openai-main', provider: 'openai', model: 'gpt-4o-mini' },
        { id: 'anthropic-backup', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
      ],
      routes: [{ name: 'chat', deployments: ['openai-main'], fallbacks: ['anthropic-backup'] }],
      policies,
    },
    ...rest,
  });
}

async function verdicts(policies: Record<string, unknown>, rest: Record<string, unknown>) {
  const journal = await runScenario(scenario(policies, rest));
  expect(journal.status).toBe('complete');
  return Object.fromEntries(journal.hypotheses.map((h) => [h.kind, h])) as Record<string, HypothesisResult>;
}

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
