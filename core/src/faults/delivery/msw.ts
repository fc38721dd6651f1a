/**
 * In-process delivery: MSW intercepts fetch for the provider origins and hands every request to the
 * chaos handler in front of the simulator. No socket is opened; transport faults become fetch errors.
 *
 * MSW patches `globalThis.fetch` when `listen()` runs: construct SDK clients after `withChaos(...)`, or
 * give them `fetch: (...args) => globalThis.fetch(...args)` so they always use the patched one.
 *
 * In vitest:
 *   let env: ChaosMsw;
 *   beforeAll(() => { env = withChaos({ seed: 7 }); });
 *   afterEach(() => env.reset());
 *   afterAll(() => env.close());
 */
import { http } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';
import { type Clock, RealClock } from '../../runtime/clock.ts';
import { type Chaos, createChaos, type InjectionEvent, type Upstream } from '../chaos/engine.ts';
import type { ChaosCounters, FaultRule } from '../chaos/plan.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.ts';

/** The official endpoints: SDKs built with their default base URLs are intercepted as they are. */
export const DEFAULT_ORIGINS = [
  'https://api.openai.com',
  'https://api.anthropic.com',
  'http://127.0.0.1:11434',
];

export interface WithChaosOptions {
  origin?: string;
  origins?: string[];
  clock?: Clock;
  seed: number;
  rules?: FaultRule[];
  /** Extra simulator options (models, latency); clock and seed come from above. */
  simulator?: Partial<Omit<SimulatorOptions, 'clock' | 'seed'>>;
  /** Serve something other than the simulator behind the chaos layer. */
  upstream?: Upstream;
  /** What MSW does with requests to other origins (default 'error': nothing leaks to the network). */
  onUnhandledRequest?: 'bypass' | 'warn' | 'error';
  onInject?: (event: InjectionEvent) => void;
}

export interface ChaosMsw {
  server: SetupServer;
  chaos: Chaos;
  /** Undefined when a custom upstream was given. */
  simulator: Simulator | undefined;
  origins: string[];
  counters(): ChaosCounters;
  setRules(rules: FaultRule[]): void;
  /** Runs `fn` with these rules, then puts the previous rules back (even if `fn` throws). */
  scoped<T>(rules: FaultRule[], fn: () => Promise<T> | T): Promise<T>;
  /** Fresh counters and PRNG sequences (rules stay). */
  reset(): void;
  close(): void;
}

export function withChaos(options: WithChaosOptions): ChaosMsw {
  const clock = options.clock ?? new RealClock();
  const origins = options.origins ?? (options.origin ? [options.origin] : DEFAULT_ORIGINS);
  const simulator = options.upstream
    ? undefined
    : createSimulator({ ...options.simulator, clock, seed: options.seed } as SimulatorOptions);
  const upstream: Upstream = options.upstream ?? ((request) => simulator!.handle(request));
  const chaos = createChaos({
    clock,
    seed: options.seed,
    rules: options.rules ?? [],
    upstream,
    ...(options.onInject ? { onInject: options.onInject } : {}),
  });
  const handlers = origins.map((origin) =>
    http.all(`${origin.replace(/\/$/, '')}/*`, ({ request }) =>
      // After the client aborted (timeout, no_response) nobody reads the answer: end quietly.
      chaos.handle(request).catch((error: unknown) => {
        if (request.signal.aborted) return Response.error();
        throw error;
      }),
    ),
  );
  const server = setupServer(...handlers);
  server.listen({ onUnhandledFrame: options.onUnhandledRequest ?? 'error' });
  return {
    server,
    chaos,
    simulator,
    origins,
    counters: () => chaos.counters(),
    setRules: (rules) => chaos.setRules(rules),
    async scoped(rules, fn) {
      const previous = chaos.rules();
      chaos.setRules(rules);
      try {
        return await fn();
      } finally {
        chaos.setRules(previous);
      }
    },
    reset: () => chaos.reset(),
    close: () => server.close(),
  };
}
