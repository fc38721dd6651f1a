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
import { createRequire } from 'node:module';
import { type Clock, RealClock } from '../../runtime/clock.ts';
import { type Chaos, createChaos, type InjectionEvent, type Upstream } from '../chaos/engine.ts';
import type { ChaosCounters, FaultRule } from '../chaos/plan.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.ts';

/*
 * MSW is an optional peer dependency, there when a test suite uses it: it is loaded when withChaos
 * is called, not when the faults entry point is imported. `require` of its ES modules (Node ≥ 22.12)
 * gives the same instance the test's own `import 'msw'` gets.
 */
const require = createRequire(import.meta.url);
const loadMsw = (): {
  http: typeof import('msw').http;
  setupServer: typeof import('msw/node').setupServer;
} => ({
  http: (require('msw') as typeof import('msw')).http,
  setupServer: (require('msw/node') as typeof import('msw/node')).setupServer,
});

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

/**
 * The MSW server withChaos started (msw/node's `SetupServer`, the part a test uses), declared here so
 * that the published declarations do not need msw, an optional peer dependency.
 */
export interface MswServer {
  listen(options?: Record<string, unknown>): void;
  close(): void;
  use(...handlers: unknown[]): void;
  resetHandlers(...handlers: unknown[]): void;
}

export interface ChaosMsw {
  server: MswServer;
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
  const { http, setupServer } = loadMsw();
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
