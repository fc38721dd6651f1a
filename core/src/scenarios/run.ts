/**
 * Running a scenario: on the in-process router (`runScenario`, virtual or real time, simulated or
 * live providers) or against an external gateway (`runAgainst`). Both are the same harness with
 * another target (harness/run.ts).
 */
import { type Clock, RealClock } from '../runtime/clock.ts';
import { DriverClock } from './harness/clock-driver.ts';
import type { RunProgress } from './harness/driver.ts';
import type { JournalStart } from './harness/journal.ts';
import { runOnTarget } from './harness/run.ts';
import type { RunJournal } from './journal.ts';
import type { Scenario } from './schema.ts';
import { type AgainstProxy, startAgainstProxy } from './targets/gateway/proxy.ts';
import { type GatewayTargetOptions, openGatewayTarget } from './targets/gateway/target.ts';
import { routerTarget } from './targets/router.ts';
import { openScenarioState } from './targets/router-state.ts';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  mode?: 'virtual' | 'real-time';
  onProgress?: (progress: RunProgress) => void;
  /** Aborting ends the run early: the journal is then 'incomplete' and holds what happened so far. */
  signal?: AbortSignal;
  /** Called with an error that cut the run short (the journal is still returned, 'incomplete'). */
  onError?: (error: unknown) => void;
  /**
   * Virtual mode: event-loop turns with no new activity after which the runner considers the
   * in-process work settled and moves the clock on (default 3; see harness/clock-driver.ts).
   */
  quietTurns?: number;
  /** Safety cap on requests for duration-only loads (default 100 000). */
  maxRequests?: number;
  /** Forces the share of streamed requests (0..1) for every request, whatever the scenario says. */
  streamShare?: number;
  /**
   * Live providers instead of the simulator: the router calls each deployment's own base URL with
   * keys from `env` (as the config names them), and the scenario's faults are injected on the way.
   * Real time only: real providers cannot follow a virtual clock.
   */
  live?: { env: Record<string, string | undefined>; fetch?: typeof fetch };
  /** The journal's header, when the caller already wrote it (the CLI starts each journal on disk). */
  journal?: JournalStart;
  /** The Redis a scenario with `state: redis` uses (else SWITCHYARD_REDIS_URL, else one the run starts). */
  redisUrl?: string;
}

/** Virtual runs start at a fixed instant so budget periods (UTC minute/hour/day) line up run after run. */
export const VIRTUAL_EPOCH_MS = Date.UTC(2026, 0, 1);

/**
 * Runs a scenario on the in-process router and returns its journal. Virtual mode shares one clock
 * between the router, the simulator and the chaos engine, and delivers the simulated providers to the
 * real SDKs through the router's `fetch` (no sockets), so every step is promise-driven and the clock
 * can be advanced as soon as the in-process work has settled: minutes of simulated time take seconds.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunJournal> {
  const live = options.live;
  const mode = options.mode ?? (live ? 'real-time' : 'virtual');
  if (live && mode === 'virtual') throw new Error('live providers run in real time: use mode "real-time"');
  const seed = options.seed ?? scenario.seed;
  const virtual = mode === 'virtual' ? new DriverClock(VIRTUAL_EPOCH_MS) : undefined;
  const clock: Clock = virtual ?? new RealClock();
  const state = await openScenarioState(scenario.state, clock, {
    virtual: mode === 'virtual',
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  try {
    const t0 = clock.now();
    const target = routerTarget(scenario, seed, clock, { mode, live, t0, store: state.store });
    return await runOnTarget(scenario, target, clock, {
      ...options,
      seed,
      t0,
      virtual: virtual ? { clock: virtual, quietTurns: options.quietTurns ?? 3 } : undefined,
    });
  } finally {
    await state.close();
  }
}

export interface AgainstOptions extends Omit<GatewayTargetOptions, 'proxy'> {
  /** A proxy shared across scenarios; without it one is started (and closed) for this run. */
  proxy?: AgainstProxy;
  /** Port for a proxy started here (default 0, a free one). */
  proxyPort?: number;
  /** Overrides the scenario's seed. */
  seed?: number;
  onProgress?: (progress: RunProgress) => void;
  onError?: (error: unknown) => void;
  /** Called once the proxy listens, before anything is sent: tell the user where to point the gateway. */
  onProxyReady?: (proxy: AgainstProxy) => void;
  /** Safety cap on requests for duration-only loads (default 100 000). */
  maxRequests?: number;
  /** Forces the share of streamed requests (0..1) for every request (`run --stream-share`). */
  streamShare?: number;
  /** The journal's header, when the caller already wrote it. */
  journal?: JournalStart;
}

/**
 * Grades an external gateway with a scenario, in real time: the load goes to the gateway, its
 * upstreams go to the chaos proxy. A gateway that cannot be reached or is not wired to the proxy
 * fails with an AgainstSetupError instead of grading nothing.
 */
export async function runAgainst(scenario: Scenario, options: AgainstOptions): Promise<RunJournal> {
  const seed = options.seed ?? scenario.seed;
  const clock = new RealClock();
  const ownProxy = options.proxy ? undefined : await startAgainstProxy({ port: options.proxyPort ?? 0 });
  const proxy = (options.proxy ?? ownProxy)!;
  try {
    options.onProxyReady?.(proxy);
    const target = await openGatewayTarget(scenario, seed, clock, { ...options, proxy });
    return await runOnTarget(scenario, target, clock, { ...options, seed });
  } finally {
    proxy.setHandler(undefined);
    await ownProxy?.close();
  }
}
