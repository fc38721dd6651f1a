import { createRequire } from 'node:module';
import { VERSION as ANTHROPIC_VERSION } from '@anthropic-ai/sdk/version';
import { VERSION as OPENAI_VERSION } from 'openai/version';
import { createChaos } from '../faults/chaos/engine.ts';
import { deriveSeed, mulberry32 } from '../faults/chaos/prng.ts';
import { faultRuleId, toFaultRule } from '../faults/chaos/rule-format.ts';
import { chaosFetch } from '../faults/delivery/fetch.ts';
import type { LatencyProfile } from '../faults/simulator/latency.ts';
import { defaultCatalogue } from '../faults/simulator/models.ts';
import { createSimulator, SIMULATED_API_KEY } from '../faults/simulator/simulator.ts';
import { type Clock, nextTurn, RealClock, VirtualClock } from '../runtime/clock.ts';
import type { RouterConfig } from '../runtime/config/schema.ts';
import type { ErrorKind } from '../runtime/errors.ts';
import { Router } from '../runtime/router.ts';
import type { DecisionTrace } from '../runtime/trace/trace.ts';
import { evaluateHypotheses } from './hypotheses.ts';
import {
  type AttemptSummary,
  type FaultCounters,
  type FaultWindow,
  JOURNAL_SCHEMA_VERSION,
  type RequestRecord,
  type RunJournal,
} from './journal.ts';
import { arrivalGapMs, createRequestFactory, type GeneratedRequest } from './load-gen.ts';
import type { FaultSpec, Scenario } from './schema.ts';
import { openScenarioState } from './state.ts';

export interface RunProgress {
  /** Simulated (or wall, in real-time mode) ms since the run started. */
  elapsedMs: number;
  sent: number;
  finished: number;
  succeeded: number;
  failed: number;
  /** Requests the load will send in all, when known. */
  planned?: number;
}

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
   * in-process work settled and moves the clock on (default 3; see settle()).
   */
  quietTurns?: number;
  /** Safety cap on requests for duration-only loads (default 100 000). */
  maxRequests?: number;
  /**
   * Live providers instead of the simulator: the router calls each deployment's own base URL with
   * keys from `env` (as the config names them), and the scenario's faults are injected on the way.
   * Real time only: real providers cannot follow a virtual clock.
   */
  live?: { env: Record<string, string | undefined>; fetch?: typeof fetch };
  /** The Redis a scenario with `state: redis` uses (else SWITCHYARD_REDIS_URL, else one the run starts). */
  redisUrl?: string;
}

/** The key every simulated deployment is given (the simulator's own fake). */
const KEY_ENV = 'SWITCHYARD_SCENARIO_API_KEY';
/** Virtual runs start at a fixed instant so budget periods (UTC minute/hour/day) line up run after run. */
export const VIRTUAL_EPOCH_MS = Date.UTC(2026, 0, 1);

/** A VirtualClock that counts timer activity, so the driver can tell when in-process work has settled. */
class DriverClock extends VirtualClock {
  activity = 0;
  override setTimer(ms: number, fn: () => void): () => void {
    this.activity++;
    return super.setTimer(ms, () => {
      this.activity++;
      fn();
    });
  }
}

/**
 * Runs a scenario and returns its journal. Virtual mode shares one VirtualClock between the router,
 * the simulator and the chaos engine, and delivers the simulated providers to the real SDKs through
 * the router's `fetch` (no sockets), so every step is promise-driven and the clock can be advanced
 * as soon as the in-process work has settled: minutes of simulated time take milliseconds.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunJournal> {
  const live = options.live;
  const mode = options.mode ?? (live ? 'real-time' : 'virtual');
  if (live && mode === 'virtual') throw new Error('live providers run in real time: use mode "real-time"');
  const seed = options.seed ?? scenario.seed;
  const wallStart = Date.now();
  const driverClock = mode === 'virtual' ? new DriverClock(VIRTUAL_EPOCH_MS) : undefined;
  const clock: Clock = driverClock ?? new RealClock();
  const t0 = clock.now();
  const rel = (t: number) => t - t0;

  const liveFetch = live?.fetch ?? ((request: Request) => globalThis.fetch(request));
  const simulator = live
    ? undefined
    : createSimulator({
        clock,
        seed: scenario.simulator?.seed ?? deriveSeed(seed, 'simulator'),
        ...latencyOverrides(scenario),
      });
  const chaos = createChaos({
    clock,
    seed: deriveSeed(seed, 'chaos'),
    rules: scenario.faults.map(toFaultRule),
    upstream: (request) => (simulator ? simulator.handle(request) : liveFetch(request)),
  });
  let idCounter = 0;
  let lastId = '';
  const state = await openScenarioState(scenario.state, clock, {
    virtual: mode === 'virtual',
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  const router = new Router({
    ...(state.store ? { store: state.store } : {}),
    config: live ? scenario.router : withScenarioKeys(scenario.router),
    clock,
    random: mulberry32(deriveSeed(seed, 'router')),
    fetch: chaosFetch(chaos),
    env: live ? live.env : { [KEY_ENV]: SIMULATED_API_KEY },
    newId: () => {
      lastId = `req-${String(++idCounter).padStart(5, '0')}`;
      return lastId;
    },
  });

  const traces = new Map<string, DecisionTrace>();
  const streamed = new Map<string, { chars: number; duplicated: boolean }>();
  const breakerTransitions: RunJournal['breakerTransitions'] = [];
  const unsubscribeTrace = router.onTrace((trace) => {
    traces.set(trace.id, structuredClone(trace));
    progress.finished++;
    if (trace.outcome === 'success') progress.succeeded++;
    else progress.failed++;
    report();
  });
  const unsubscribeBreakers = router.breakers.onTransition((event) => {
    breakerTransitions.push({
      deployment: event.deployment,
      from: event.from,
      to: event.to,
      atMs: rel(event.at),
    });
  });

  const load = scenario.load;
  const { maxRequests, arrivalsEndMs, progress } = loadLimits(scenario, options.maxRequests);
  const report = () => {
    if (!options.onProgress) return;
    progress.elapsedMs = rel(clock.now());
    options.onProgress({ ...progress });
  };

  // Stops arrivals. In real-time mode router calls listen to it too, so in-flight requests end; in
  // virtual mode they are simply left behind when the clock stops (nothing runs without it), which
  // also keeps an abort from racing the router's own cancellation paths.
  const runController = new AbortController();
  const onAbort = () => runController.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const makeRequest = createRequestFactory(scenario, seed);
  const inFlight = new Set<Promise<void>>();
  let runError: unknown;

  /** Sends one request and consumes it the way a caller would. */
  const send = async (generated: GeneratedRequest): Promise<void> => {
    progress.sent++;
    const signal = mode === 'real-time' ? runController.signal : undefined;
    if (!generated.stream) {
      const pending = router.complete(generated.request, signal ? { signal } : {});
      await pending.catch(() => undefined);
      return;
    }
    const iterator = router.stream(generated.request, signal ? { signal } : {})[Symbol.asyncIterator]();
    const first = iterator.next();
    // stream()'s body runs synchronously up to its first await, so the id is already minted.
    const id = lastId;
    let text = '';
    let attemptsWithText = 0;
    let textSinceAttempt = false;
    let finalText: string | undefined;
    try {
      for (let next = await first; !next.done; next = await iterator.next()) {
        const event = next.value;
        if (event.type === 'attempt') {
          textSinceAttempt = false;
        } else if (event.type === 'text-delta') {
          if (!textSinceAttempt) attemptsWithText++;
          textSinceAttempt = true;
          text += event.text;
        } else if (event.type === 'done') {
          finalText = event.response.text;
        }
      }
    } catch {
      // stream() surfaces failures as events; a throw here is the caller-side abort.
    }
    // Text is duplicated if two attempts both delivered text, or the caller got more than the answer.
    const duplicated = attemptsWithText > 1 || (finalText !== undefined && text.length > finalText.length);
    streamed.set(id, { chars: text.length, duplicated });
  };

  const track = (promise: Promise<void>) => {
    const tracked = promise.catch((error) => {
      runError ??= error;
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  };

  const arrivalsOpen = () =>
    !runController.signal.aborted && progress.sent < maxRequests && rel(clock.now()) < arrivalsEndMs;

  /** Resolves when every arrival has been made and every request has ended. */
  const runLoad = new Promise<void>((resolveLoad) => {
    let index = 0;
    let arrivalsDone = false;
    const checkDone = () => {
      if (arrivalsDone && inFlight.size === 0) resolveLoad();
    };
    const finishArrivals = () => {
      arrivalsDone = true;
      void Promise.all([...inFlight]).then(function waitAll(): Promise<void> | void {
        if (inFlight.size > 0) return Promise.all([...inFlight]).then(waitAll);
        checkDone();
      });
    };
    if (load.rate !== undefined) {
      const random = mulberry32(deriveSeed(seed, 'arrivals'));
      const arrive = () => {
        if (!arrivalsOpen()) return finishArrivals();
        track(send(makeRequest(index++)));
        const gap = arrivalGapMs(load, random);
        if (rel(clock.now()) + gap >= arrivalsEndMs) return finishArrivals();
        clock.setTimer(gap, arrive);
      };
      clock.setTimer(0, arrive);
    } else {
      const workers = load.concurrency ?? 1;
      const think = load.thinkTime ?? 0;
      const worker = async (): Promise<void> => {
        while (arrivalsOpen()) {
          const started = clock.now();
          await send(makeRequest(index++));
          // A zero-time request must still let the clock move, or a duration-only load never ends.
          const pause = think > 0 ? think : clock.now() === started ? 1 : 0;
          if (pause > 0 && arrivalsOpen())
            await clock.sleep(pause, runController.signal).catch(() => undefined);
        }
      };
      for (let w = 0; w < workers; w++) track(worker());
      finishArrivals();
    }
  });
  let loadDone = false;
  void runLoad.then(() => {
    loadDone = true;
  });

  try {
    if (driverClock) {
      await drive(driverClock, {
        done: () => loadDone,
        aborted: () => runController.signal.aborted,
        quietTurns: options.quietTurns ?? 3,
        ...(state.store?.settle ? { settleStore: state.store.settle.bind(state.store) } : {}),
        drainDeadline: () =>
          Number.isFinite(arrivalsEndMs) ? t0 + arrivalsEndMs + load.drainTimeout : Number.POSITIVE_INFINITY,
      });
    } else {
      await Promise.race([
        runLoad,
        new Promise<void>((resolve) =>
          runController.signal.addEventListener('abort', () => resolve(), { once: true }),
        ),
      ]);
    }
  } catch (error) {
    runError ??= error;
  }
  let complete = loadDone && runError === undefined && !runController.signal.aborted;
  if (!complete) {
    // Interrupted: stop arrivals; real-time calls get a moment to end and write their traces.
    if (!runController.signal.aborted) runController.abort(new Error('scenario run interrupted'));
    if (mode === 'real-time') for (let i = 0; i < 20 && inFlight.size > 0; i++) await nextTurn();
    complete = false;
  }
  options.signal?.removeEventListener('abort', onAbort);
  unsubscribeTrace();
  unsubscribeBreakers();
  await state.close();
  if (runError !== undefined) options.onError?.(runError);

  const durationMs = rel(clock.now());
  const requests = [...traces.values()]
    .map((trace) => toRecord(trace, t0, streamed.get(trace.id)))
    .sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  const faultWindows = scenario.faults
    .map((fault, i) => toFaultWindow(fault, i, durationMs))
    .filter((w): w is FaultWindow => w !== undefined);
  const counters = chaos.counters();
  const faultCounters: FaultCounters = {
    requestsSeen: counters.requests.total,
    injected: counters.injected.byFault,
    byTarget: counters.injected.byTarget,
  };
  const hypotheses = evaluateHypotheses(scenario, {
    requests,
    faultWindows,
    breakerTransitions,
    durationMs,
    config: scenario.router,
    clockOriginMs: t0,
  });
  return {
    ...journalHeader(scenario, seed, wallStart, complete),
    mode,
    config: scenario.router,
    durationMs,
    faultWindows,
    requests,
    faultCounters,
    breakerTransitions,
    hypotheses,
    verdict: !complete ? 'incomplete' : hypotheses.every((h) => h.passed) ? 'passed' : 'failed',
  };
}

// -----------------------------------------------------------------------------------------------
// The virtual-time driver

interface DriveOptions {
  done(): boolean;
  aborted(): boolean;
  quietTurns: number;
  /** A shared store's held answers, delivered between turns (counts as activity when any were). */
  settleStore?: () => Promise<number>;
  /** Clock time after which a run whose arrivals ended is cut short (requests that never end). */
  drainDeadline(): number;
}

/**
 * Lets the in-process work run until it is quiet, then fires the next timer; repeats until the load
 * is done. "Quiet" = `quietTurns` event-loop turns (setImmediate) in a row in which no timer was set
 * or fired. A promise chain finishes within one turn; the SDKs' body reading and the simulator's
 * streams sometimes need a second (stream pulls hop through a macrotask), so 3 quiet turns leave a
 * margin; the determinism test runs the same scenario with 3 and 12 and compares the journals.
 */
async function drive(clock: DriverClock, options: DriveOptions): Promise<void> {
  const settle = async () => {
    let quiet = 0;
    let seen = clock.activity;
    while (quiet < options.quietTurns) {
      await nextTurn();
      if (options.settleStore && (await options.settleStore()) > 0) clock.activity++;
      if (options.done()) return;
      if (clock.activity === seen) quiet++;
      else {
        quiet = 0;
        seen = clock.activity;
      }
    }
  };
  for (;;) {
    await settle();
    if (options.done() || options.aborted()) return;
    const at = clock.nextTimerAt();
    if (at === undefined) {
      throw new Error('scenario run stalled: requests are pending but nothing is scheduled on the clock');
    }
    if (at > options.drainDeadline()) {
      throw new Error('scenario run did not drain: requests were still in flight after load.drainTimeout');
    }
    // Timers due at the same instant fire together, in order; turns run between instants.
    await clock.advanceTo(at, 0);
  }
}

// -----------------------------------------------------------------------------------------------
// Mapping scenario parts onto the runtime and the journal

export function latencyOverrides(scenario: Scenario): { latency?: Partial<Record<string, LatencyProfile>> } {
  const overrides = scenario.simulator?.latency;
  if (!overrides) return {};
  const catalogue = defaultCatalogue();
  const latency: Partial<Record<string, LatencyProfile>> = {};
  for (const [model, override] of Object.entries(overrides)) {
    // Unset fields keep the model's own profile ('*' starts from a middling default).
    const baseProfile: LatencyProfile = catalogue[model]?.latency ?? {
      ttftMedianMs: 500,
      ttftSigma: 0.35,
      tokensPerSecond: 80,
      tokensPerSecondSd: 15,
    };
    latency[model] = { ...baseProfile, ...stripUndefined(override) };
  }
  return { latency };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every OpenAI/Anthropic deployment gets the fake scenario key (configs may name real env vars). */
function withScenarioKeys(config: RouterConfig): RouterConfig {
  return {
    ...config,
    deployments: config.deployments.map((d) =>
      d.provider === 'ollama' ? d : { ...d, apiKey: { env: KEY_ENV } },
    ),
  };
}

export { faultRuleId, toFaultRule } from '../faults/chaos/rule-format.ts';

function describeTarget(fault: FaultSpec): string {
  const list = (v: string | string[] | undefined) => (v === undefined ? '*' : [v].flat().join('|'));
  const target = fault.target;
  if (!target) return '*';
  let out = `${list(target.provider)}/${list(target.model)}`;
  if (target.stream !== undefined) out += target.stream ? ' (stream)' : ' (non-stream)';
  return out;
}

/** When a fault can fire, relative to the run's start (a ramp that ends at rate 0 ends there). */
export function toFaultWindow(fault: FaultSpec, index: number, runEndMs: number): FaultWindow | undefined {
  if (!fault.enabled) return undefined;
  const rampFrom = fault.ramp && fault.ramp.fromRate === 0 ? fault.ramp.from : 0;
  const rampTo = fault.ramp && fault.ramp.toRate === 0 ? fault.ramp.to : Number.POSITIVE_INFINITY;
  const fromMs = Math.max(fault.from ?? 0, rampFrom);
  const toMs = Math.min(fault.to ?? Number.POSITIVE_INFINITY, rampTo, Math.max(runEndMs, fromMs));
  return {
    ruleId: faultRuleId(fault, index),
    fault: fault.fault,
    target: describeTarget(fault),
    fromMs,
    toMs,
  };
}

/** A request's journal record from its decision trace (times relative to the run's start). */
export function toRecord(
  trace: DecisionTrace,
  t0: number,
  stream?: { chars: number; duplicated: boolean },
): RequestRecord {
  const startMs = trace.startedAt - t0;
  const endMs = (trace.endedAt ?? trace.startedAt) - t0;
  const attempts: AttemptSummary[] = trace.attempts.map((a, i) => {
    const summary: AttemptSummary = {
      deployment: a.deployment,
      startMs: a.startedAt - t0,
      endMs: a.endedAt - t0,
      outcome: a.outcome,
      costUsd: a.costUsd,
    };
    if (a.errorKind) summary.errorKind = a.errorKind;
    if (a.status !== undefined) summary.status = a.status;
    if (a.delayBeforeNextMs !== undefined) summary.delayBeforeNextMs = a.delayBeforeNextMs;
    if (a.delayReason) summary.delayReason = a.delayReason;
    if (a.next) summary.next = a.next;
    if (a.hedge) summary.hedge = true;
    if (a.probe) summary.probe = true;
    // The earliest start a Retry-After on the previous attempt to the same deployment allowed.
    const previous = i > 0 ? trace.attempts[i - 1] : undefined;
    const retryAfterMs = previous?.error?.retryAfterMs;
    if (previous && previous.deployment === a.deployment && typeof retryAfterMs === 'number') {
      summary.retryAfterNotBeforeMs = previous.endedAt - t0 + retryAfterMs;
    }
    return summary;
  });
  const success = trace.attempts.find(
    (a) => a.outcome === 'success' && a.deployment === trace.finalDeployment,
  );
  const record: RequestRecord = {
    id: trace.id,
    startMs,
    endMs,
    latencyMs: endMs - startMs,
    stream: trace.stream,
    tags: [...trace.tags],
    route: trace.route,
    outcome: trace.outcome ?? 'error',
    fellBack:
      trace.outcome === 'success' &&
      trace.finalDeployment !== undefined &&
      trace.attempts.length > 0 &&
      trace.attempts[0]!.deployment !== trace.finalDeployment,
    cache: trace.cache,
    costUsd: trace.costUsd,
    wastedUsd: trace.wastedUsd,
    attempts,
    skipped: trace.candidates
      .filter((c) => c.skipped)
      .map((c) => ({ deployment: c.deployment, reason: c.skipped! })),
  };
  if (success?.ttftMs !== undefined) record.ttftMs = success.startedAt - trace.startedAt + success.ttftMs;
  if (trace.tenant) record.tenant = trace.tenant;
  const errorKind = trace.error?.kind;
  if (trace.outcome !== 'success' && typeof errorKind === 'string') record.errorKind = errorKind as ErrorKind;
  if (trace.finalDeployment) record.finalDeployment = trace.finalDeployment;
  if (stream) {
    record.streamedChars = stream.chars;
    record.duplicatedText = stream.duplicated;
  }
  return record;
}

let cachedVersions: RunJournal['versions'] | undefined;

/** Versions of Switchyard, Node and the SDKs, as journals record them. */
/** What every journal starts with: identity, status, wall-clock span, scenario and versions. */
/**
 * How many requests a run may send and until when (its load, capped by `maxRequests`), and its
 * progress counters at the start. Shared by the simulated/live runner and the --against runner.
 */
export function loadLimits(
  scenario: Scenario,
  maxRequestsCap: number | undefined,
): { maxRequests: number; arrivalsEndMs: number; progress: RunProgress } {
  const load = scenario.load;
  return {
    maxRequests: Math.min(load.requests ?? maxRequestsCap ?? 100_000, maxRequestsCap ?? 100_000),
    arrivalsEndMs: load.duration ?? Number.POSITIVE_INFINITY,
    progress: {
      elapsedMs: 0,
      sent: 0,
      finished: 0,
      succeeded: 0,
      failed: 0,
      ...(load.requests !== undefined ? { planned: load.requests } : {}),
    },
  };
}

export function journalHeader(
  scenario: Scenario,
  seed: number,
  wallStart: number,
  complete: boolean,
): Pick<RunJournal, 'schemaVersion' | 'runId' | 'status' | 'wall' | 'scenario' | 'versions'> {
  const wallEnd = Date.now();
  return {
    schemaVersion: JOURNAL_SCHEMA_VERSION,
    runId: crypto.randomUUID(),
    status: complete ? 'complete' : 'incomplete',
    wall: {
      startedAt: new Date(wallStart).toISOString(),
      finishedAt: new Date(wallEnd).toISOString(),
      durationMs: wallEnd - wallStart,
    },
    scenario: { name: scenario.name, description: scenario.description, file: scenario.file, seed },
    versions: runVersions(),
  };
}

export function runVersions(): RunJournal['versions'] {
  if (cachedVersions) return cachedVersions;
  const require = createRequire(import.meta.url);
  const read = (name: string): string => {
    try {
      return (require(name) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  cachedVersions = {
    switchyard: read('../../package.json'),
    // Node version without the patch-level noise would hide real differences: keep it whole.
    node: process.versions.node,
    sdks: {
      openai: OPENAI_VERSION,
      '@anthropic-ai/sdk': ANTHROPIC_VERSION,
      ollama: read('ollama/package.json'),
    },
  };
  return cachedVersions;
}
