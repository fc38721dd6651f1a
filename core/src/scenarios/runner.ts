import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { VERSION as ANTHROPIC_VERSION } from '@anthropic-ai/sdk/version';
import { VERSION as OPENAI_VERSION } from 'openai/version';
import { createChaos } from '../faults/chaos/engine.ts';
import { deriveSeed, mulberry32 } from '../faults/chaos/prng.ts';
import { faultRuleId, toFaultRule } from '../faults/chaos/rule-format.ts';
import type { Provider } from '../faults/chaos/wire.ts';
import { chaosFetch } from '../faults/delivery/fetch.ts';
import type { LatencyProfile } from '../faults/simulator/latency.ts';
import { defaultCatalogue } from '../faults/simulator/models.ts';
import { createSimulator, SIMULATED_API_KEY } from '../faults/simulator/simulator.ts';
import { type Clock, nextTurn, RealClock, VirtualClock } from '../runtime/clock.ts';
import type { RouterConfig } from '../runtime/config/schema.ts';
import type { ErrorKind, TimeoutPhase } from '../runtime/errors.ts';
import { parseRetryAfterMs } from '../runtime/providers/retry-after.ts';
import { Router } from '../runtime/router.ts';
import type { AttemptRecord, DecisionTrace } from '../runtime/trace/trace.ts';
import { evaluateHypotheses, runVerdict } from './hypotheses.ts';
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
  /** Forces the share of streamed requests (0..1) for every request, whatever the scenario says. */
  streamShare?: number;
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
  const waitsSent = new WaitsSent(scenario.router);
  const chaos = createChaos({
    clock,
    seed: deriveSeed(seed, 'chaos'),
    rules: scenario.faults.map(toFaultRule),
    upstream: (request) => (simulator ? simulator.handle(request) : liveFetch(request)),
    onResponse: (event, response) => waitsSent.record(event.provider, event.model, response, clock.now()),
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
  const streamed = new Map<string, StreamedText>();
  /** Requests sent and not ended yet, by id: what is left of them when the run drains hung. */
  const pending = new Map<string, { startedAt: number; stream: boolean }>();
  const breakerTransitions: RunJournal['breakerTransitions'] = [];
  const unsubscribeTrace = router.onTrace((trace) => {
    traces.set(trace.id, structuredClone(trace));
    pending.delete(trace.id);
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

  const makeRequest = createRequestFactory(scenario, seed, options.streamShare);
  const inFlight = new Set<Promise<void>>();
  let runError: unknown;

  /** Sends one request and consumes it the way a caller would. */
  const send = async (generated: GeneratedRequest): Promise<void> => {
    progress.sent++;
    const signal = mode === 'real-time' ? runController.signal : undefined;
    if (!generated.stream) {
      const pending_ = router.complete(generated.request, signal ? { signal } : {});
      // complete()'s body runs synchronously up to its first await, so the id is already minted.
      pending.set(lastId, { startedAt: clock.now(), stream: false });
      await pending_.catch(() => undefined);
      return;
    }
    const iterator = router.stream(generated.request, signal ? { signal } : {})[Symbol.asyncIterator]();
    const first = iterator.next();
    // stream()'s body runs synchronously up to its first await, so the id is already minted.
    const id = lastId;
    pending.set(id, { startedAt: clock.now(), stream: true });
    // What the caller received, counted here from the events it got: the router's own account of
    // what it delivered (trace deliveredChars/Hash) is checked against this, not rebuilt from it.
    let text = '';
    try {
      for (let next = await first; !next.done; next = await iterator.next())
        if (next.value.type === 'text-delta') text += next.value.text;
    } catch {
      // stream() surfaces failures as events; a throw here is the caller-side abort.
    }
    streamed.set(id, { chars: text.length, hash: textHash(text) });
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

  let drained: DriveEnd = 'done';
  try {
    if (driverClock) {
      drained = await drive(driverClock, {
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
  // Requests left in flight when the run could go no further ended nowhere: they hung.
  const hung = drained !== 'done' && !runController.signal.aborted && runError === undefined;
  let complete = (loadDone || hung) && runError === undefined && !runController.signal.aborted;
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
    .map((trace) =>
      toRecord(trace, t0, {
        ...(streamed.has(trace.id) ? { stream: streamed.get(trace.id)! } : {}),
        retryAfterSent: (attempt) => waitsSent.of(attempt),
      }),
    )
    .concat(hung ? [...pending].map(([id, p]) => hungRecord(id, p.startedAt - t0, durationMs, p.stream)) : [])
    .sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  const faultWindows = scenario.faults.flatMap((fault, i) => toFaultWindows(fault, i, durationMs));
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
    requestsSent: progress.sent,
  });
  return {
    ...journalHeader(scenario, seed, wallStart, complete),
    mode,
    clockOriginMs: t0,
    requestsSent: progress.sent,
    ...(options.streamShare !== undefined ? { streamShareOverride: options.streamShare } : {}),
    config: scenario.router,
    durationMs,
    faultWindows,
    requests,
    faultCounters,
    breakerTransitions,
    hypotheses,
    verdict: runVerdict(complete, hypotheses),
  };
}

interface StreamedText {
  chars: number;
  hash: string;
}

/** SHA-256 of a text, hex, first 16 characters: the trace contract's form of delivered text. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The Retry-After waits the chaos layer sent, read from each injected response on the run's clock:
 * the harness's own record of what a throttled attempt was asked to wait, tied to the attempt by the
 * provider request id its error echoes (else by deployment, status and time).
 */
class WaitsSent {
  readonly #byRequestId = new Map<string, number>();
  readonly #anonymous: Array<{
    at: number;
    provider: Provider;
    model: string | undefined;
    status: number;
    ms: number;
  }> = [];
  readonly #wire = new Map<string, { provider: string; model: string }>();

  constructor(config: RouterConfig) {
    for (const d of config.deployments)
      this.#wire.set(d.id, {
        provider: d.provider === 'openai-compatible' ? 'openai' : d.provider,
        model: d.model,
      });
  }

  record(provider: Provider, model: string | undefined, response: Response, now: number): void {
    const ms = parseRetryAfterMs(response.headers, now);
    if (ms === undefined) return;
    const id = response.headers.get('x-request-id') ?? response.headers.get('request-id');
    if (id) this.#byRequestId.set(id, ms);
    else this.#anonymous.push({ at: now, provider, model, status: response.status, ms });
  }

  of(attempt: AttemptRecord): number | undefined {
    if (attempt.outcome !== 'error' || attempt.status === undefined) return undefined;
    const id = attempt.error?.requestId;
    if (typeof id === 'string' && this.#byRequestId.has(id)) return this.#byRequestId.get(id);
    const wire = this.#wire.get(attempt.deployment);
    const matching = this.#anonymous.filter(
      (w) =>
        w.provider === wire?.provider &&
        w.model === wire?.model &&
        w.status === attempt.status &&
        w.at >= attempt.startedAt &&
        w.at <= attempt.endedAt,
    );
    // Only when unambiguous: every candidate asked the same wait.
    const waits = new Set(matching.map((w) => w.ms));
    return waits.size === 1 ? [...waits][0] : undefined;
  }
}

/** A request sent that never ended: a failure with nothing known of its attempts. */
function hungRecord(id: string, startMs: number, endMs: number, stream: boolean): RequestRecord {
  return {
    id,
    startMs,
    endMs,
    latencyMs: endMs - startMs,
    stream,
    tags: [],
    route: '',
    outcome: 'error',
    fellBack: false,
    cache: 'off',
    costUsd: 0,
    wastedUsd: 0,
    attempts: [],
    skipped: [],
    hung: true,
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
/**
 * 'stalled': requests are pending but nothing is scheduled on the clock; 'undrained': they were still
 * in flight after load.drainTimeout. Either way they hung: the run ends there and records them so.
 */
type DriveEnd = 'done' | 'stalled' | 'undrained';

async function drive(clock: DriverClock, options: DriveOptions): Promise<DriveEnd> {
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
    if (options.done() || options.aborted()) return 'done';
    const at = clock.nextTimerAt();
    if (at === undefined) return 'stalled';
    if (at > options.drainDeadline()) return 'undrained';
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

/**
 * When a fault can fire, relative to the run's start (a ramp that ends at rate 0 ends there): one
 * window, or one per `down` period of a repeating schedule.
 */
export function toFaultWindows(fault: FaultSpec, index: number, runEndMs: number): FaultWindow[] {
  if (!fault.enabled) return [];
  const rampFrom = fault.ramp && fault.ramp.fromRate === 0 ? fault.ramp.from : 0;
  const rampTo = fault.ramp && fault.ramp.toRate === 0 ? fault.ramp.to : Number.POSITIVE_INFINITY;
  const fromMs = Math.max(fault.from ?? 0, rampFrom);
  const toMs = Math.min(fault.to ?? Number.POSITIVE_INFINITY, rampTo, Math.max(runEndMs, fromMs));
  const window = (from: number, to: number): FaultWindow => ({
    ruleId: faultRuleId(fault, index),
    fault: fault.fault,
    target: describeTarget(fault),
    fromMs: from,
    toMs: to,
  });
  if (!fault.repeat) return [window(fromMs, toMs)];
  const windows: FaultWindow[] = [];
  const period = fault.repeat.down + fault.repeat.up;
  // The schedule counts from `from` (the plan's cycle does too), whatever a ramp clips off.
  for (let start = fault.from ?? 0; start < toMs; start += period) {
    const from = Math.max(start, fromMs);
    const to = Math.min(start + fault.repeat.down, toMs);
    if (to > from) windows.push(window(from, to));
  }
  return windows;
}

/** What the harness itself saw of a request, beside its trace. */
export interface RecordEvidence {
  /** Streams: the text the caller received (characters, hash). */
  stream?: StreamedText;
  /** The Retry-After wait the provider's answer to this attempt asked for, as the harness sent it. */
  retryAfterSent?: (attempt: AttemptRecord) => number | undefined;
}

/** A request's journal record from its decision trace (times relative to the run's start). */
export function toRecord(trace: DecisionTrace, t0: number, evidence: RecordEvidence = {}): RequestRecord {
  const startMs = trace.startedAt - t0;
  const endMs = (trace.endedAt ?? trace.startedAt) - t0;
  const attempts: AttemptSummary[] = trace.attempts.map((a) => {
    const summary: AttemptSummary = {
      n: a.n,
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
    if (a.fallbackReason) summary.fallbackReason = a.fallbackReason;
    if (a.hedge) summary.hedge = true;
    if (a.probe) summary.probe = true;
    if (a.slow) summary.slow = true;
    if (a.costEstimated) summary.costEstimated = true;
    if (a.timeoutPhase) summary.timeoutPhase = a.timeoutPhase;
    if (a.retryAfterMs !== undefined) summary.retryAfterMs = a.retryAfterMs;
    const sent = evidence.retryAfterSent?.(a);
    if (sent !== undefined) summary.retryAfterSentMs = sent;
    if (a.deliveredChars !== undefined) summary.deliveredChars = a.deliveredChars;
    if (a.deliveredHash !== undefined) summary.deliveredHash = a.deliveredHash;
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
  const phase = trace.error?.timeoutPhase;
  if (trace.outcome !== 'success' && typeof phase === 'string') record.timeoutPhase = phase as TimeoutPhase;
  if (trace.finalDeployment) record.finalDeployment = trace.finalDeployment;
  if (evidence.stream) {
    record.streamedChars = evidence.stream.chars;
    record.streamedHash = evidence.stream.hash;
  }
  if (trace.deliveredChars !== undefined) record.deliveredChars = trace.deliveredChars;
  if (trace.deliveredHash !== undefined) record.deliveredHash = trace.deliveredHash;
  if (trace.budgetEvents?.length)
    record.budgetEvents = trace.budgetEvents.map(({ at, ...event }) => ({ atMs: at - t0, ...event }));
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
