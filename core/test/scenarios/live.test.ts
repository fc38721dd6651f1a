import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChaosProxy, ZERO_LATENCY } from '../../src/faults/index.ts';
import { defineScenario, runScenario } from '../../src/scenarios/index.ts';

/**
 * Live mode: the runner calls the deployments' own base URLs with the user's keys and injects the
 * scenario's faults on the way. No real provider is reachable here, so a chaos proxy in simulate
 * mode on loopback plays one; it accepts only the user's key, which proves the key was used.
 */
const LIVE_KEY = 'sk-test-live-user-key';
type Proxy = Awaited<ReturnType<typeof startChaosProxy>>;
let provider: Proxy;

beforeAll(async () => {
  provider = await startChaosProxy({
    mode: 'simulate',
    seed: 5,
    simulator: { latency: { '*': ZERO_LATENCY }, acceptKey: (_p, key) => key === LIVE_KEY },
  });
});
afterAll(() => provider?.close());

const scenario = () =>
  defineScenario({
    name: 'live-503s',
    description: 'OpenAI answers 503 to every second call; the router retries or falls back to Anthropic.',
    seed: 9,
    router: {
      deployments: [
        {
          id: 'openai',
          provider: 'openai',
          model: 'gpt-4.1',
          baseURL: `${provider.url}/v1`,
          apiKey: { env: 'MY_OPENAI_KEY' },
        },
        {
          id: 'claude',
          provider: 'anthropic',
          model: 'claude-sonnet-4-6',
          baseURL: provider.url,
          apiKey: { env: 'MY_ANTHROPIC_KEY' },
        },
      ],
      routes: [{ name: 'chat', deployments: ['openai'], fallbacks: ['claude'] }],
      policies: { retry: { maxAttempts: 1 } },
    },
    load: { requests: 12, concurrency: 3, maxOutputTokens: 16 },
    faults: [{ id: 'openai-503', fault: 'service_unavailable', target: { provider: 'openai' }, everyNth: 2 }],
    hypotheses: [{ id: 'all-succeed', type: 'success_rate', atLeast: 1 }],
  });

describe('runScenario with live providers', () => {
  it("calls the deployments' own URLs with the user's keys, injecting the faults on the way", async () => {
    const before = provider.chaos.counters().requests.total;
    const journal = await runScenario(scenario(), {
      live: { env: { MY_OPENAI_KEY: LIVE_KEY, MY_ANTHROPIC_KEY: LIVE_KEY } },
    });
    expect(journal.mode).toBe('real-time');
    expect(journal.status).toBe('complete');
    expect(journal.verdict).toBe('passed');
    expect(journal.requests).toHaveLength(12);
    const injected =
      journal.faultCounters.injected.openai_503 ?? journal.faultCounters.injected.service_unavailable;
    expect(injected).toBeGreaterThan(0);
    expect(journal.requests.some((r) => r.finalDeployment === 'claude')).toBe(true);
    // Every call that was not answered by an injected fault crossed the socket to the "provider".
    const attempts = journal.requests.flatMap((r) => r.attempts).length;
    expect(provider.chaos.counters().requests.total - before).toBe(attempts - injected!);
  });

  it('fails on the provider side with a wrong key (the key really is the one from env)', async () => {
    const journal = await runScenario(scenario(), {
      live: { env: { MY_OPENAI_KEY: 'sk-test-wrong', MY_ANTHROPIC_KEY: 'sk-test-wrong' } },
    });
    expect(journal.verdict).toBe('failed');
    expect(journal.requests.every((r) => r.outcome === 'error' && r.errorKind === 'auth')).toBe(true);
  });

  it('refuses a virtual clock for live providers', async () => {
    await expect(runScenario(scenario(), { mode: 'virtual', live: { env: {} } })).rejects.toThrow(
      /real time/,
    );
  });
});
