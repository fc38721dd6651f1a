import type { Clock } from '@switchyard/core';
import { RealClock, Router, type RouterConfigInput } from '@switchyard/core';
import { chaosFetch, createSimulator, type LatencyProfile, ZERO_LATENCY } from '@switchyard/core/faults';

/** Any key works for the simulator; a fixed fake one keeps real keys out of benchmark runs. */
export const BENCH_KEY = 'sk-test-bench-not-a-real-key';

/** The in-process simulator as a `fetch` (no socket), the way scenario runs deliver it. */
export function simulatorFetch(
  options: { clock?: Clock; seed?: number; latency?: Partial<Record<string, LatencyProfile>> } = {},
): typeof fetch {
  const simulator = createSimulator({
    clock: options.clock ?? new RealClock(),
    seed: options.seed ?? 1,
    latency: options.latency ?? { '*': ZERO_LATENCY },
  });
  return chaosFetch(simulator);
}

/**
 * The simulator with a fixed time to first token on `clock` (and instant tokens after it), counting
 * the calls that reached it: a benchmark holds the clock until every request has arrived, so the
 * number in flight is exact whatever the machine's speed.
 */
export function heldSimulatorFetch(
  clock: Clock,
  ttftMs: number,
): { fetch: typeof fetch; arrived: () => number } {
  const inner = simulatorFetch({
    clock,
    latency: { '*': { ttftMedianMs: ttftMs, ttftSigma: 0, tokensPerSecond: 0, tokensPerSecondSd: 0 } },
  });
  let arrived = 0;
  const counting = ((input: string | URL | Request, init?: RequestInit) => {
    arrived++;
    return inner(input, init);
  }) as typeof fetch;
  return { fetch: counting, arrived: () => arrived };
}

/** One OpenAI deployment on the simulator, with the default resilience policies (retries, breaker on). */
export function singleOpenAIConfig(model = 'gpt-4.1'): RouterConfigInput {
  return {
    deployments: [
      {
        id: `openai/${model}`,
        provider: 'openai',
        model,
        baseURL: 'http://simulator.local/v1',
        apiKey: { env: 'BENCH_KEY' },
      },
    ],
    routes: [{ name: 'chat', deployments: [`openai/${model}`] }],
    policies: {
      retry: { maxAttempts: 3, baseDelayMs: 50 },
      breaker: { enabled: true, consecutiveFailures: 5 },
    },
  };
}

export function benchRouter(
  config: RouterConfigInput,
  fetchImpl: typeof fetch,
  clock: Clock = new RealClock(),
): Router {
  return new Router({ config, clock, fetch: fetchImpl, env: { BENCH_KEY } });
}
