/**
 * The only load driver: it makes the scenario's arrivals (open loop at a rate, or closed loop with
 * workers), sends each request to the target, keeps count of what is in flight, drains, reports
 * progress and stops on an abort. On a virtual clock it also moves time on (clock-driver.ts); on the
 * wall clock it waits. Whatever the target, the same seed sends the same requests at the same times.
 */
import { deriveSeed, mulberry32 } from '../../faults/chaos/prng.ts';
import { type Clock, nextTurn } from '../../runtime/clock.ts';
import { arrivalGapMs, createRequestFactory, type GeneratedRequest } from '../load-gen.ts';
import type { Scenario } from '../schema.ts';
import { type DriveEnd, type DriverClock, drive } from './clock-driver.ts';

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

/** Sends one request as a caller would and consumes its answer; resolves (never rejects) when it ended. */
export type Send = (
  id: string,
  generated: GeneratedRequest,
  signal: AbortSignal | undefined,
) => Promise<'success' | 'error'>;

export interface LoadOptions {
  seed: number;
  /** The run's start on its clock (default: now); arrivals and the drain count from it. */
  t0?: number | undefined;
  /** Forces the share of streamed requests (0..1) for every request (`run --stream-share`). */
  streamShare?: number | undefined;
  /** Safety cap on requests for duration-only loads (default 100 000). */
  maxRequests?: number | undefined;
  /** Virtual time: the clock the driver moves on, and the quiet turns that mean "settled". */
  virtual?: { clock: DriverClock; quietTurns: number } | undefined;
  /** Virtual time: the target's held work, let in between turns (Target.settle). */
  settle?: (() => Promise<number>) | undefined;
  /** Aborting ends the run early: the journal is then 'incomplete' and holds what happened so far. */
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: RunProgress) => void) | undefined;
}

export interface LoadResult {
  /** Requests sent. */
  sent: number;
  /** Ids of the requests still in flight when the run could go no further (they hung). */
  hung: string[];
  /** False when the run was interrupted (an abort, or an error in the driver). */
  complete: boolean;
  /** The error that cut the run short, if one did. */
  error?: unknown;
}

/** Request ids in the order they were sent: req-00001, req-00002, … */
const requestId = (n: number) => `req-${String(n).padStart(5, '0')}`;

/**
 * Runs the scenario's load against `send` from the clock's current time (the run's start). In
 * virtual mode requests get no signal (a run cut short simply stops the clock, which also keeps an
 * abort from racing the target's own cancellation); in real time they get the run's, so an abort or
 * the drain deadline ends them.
 */
export async function runLoad(
  scenario: Scenario,
  clock: Clock,
  send: Send,
  options: LoadOptions,
): Promise<LoadResult> {
  const { seed, virtual } = options;
  const load = scenario.load;
  const t0 = options.t0 ?? clock.now();
  const rel = (t: number) => t - t0;
  const maxRequests = Math.min(
    load.requests ?? options.maxRequests ?? 100_000,
    options.maxRequests ?? 100_000,
  );
  const arrivalsEndMs = load.duration ?? Number.POSITIVE_INFINITY;
  const progress: RunProgress = {
    elapsedMs: 0,
    sent: 0,
    finished: 0,
    succeeded: 0,
    failed: 0,
    ...(load.requests !== undefined ? { planned: load.requests } : {}),
  };
  const report = () => {
    if (!options.onProgress) return;
    progress.elapsedMs = rel(clock.now());
    options.onProgress({ ...progress });
  };

  const runController = new AbortController();
  const onAbort = () => runController.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const makeRequest = createRequestFactory(scenario, seed, options.streamShare);
  const inFlight = new Set<Promise<void>>();
  const inFlightIds = new Set<string>();
  let runError: unknown;
  /** When the last arrival was made: a load without a duration drains from then. */
  let arrivalsEndedAt: number | undefined;

  const sendOne = async (generated: GeneratedRequest): Promise<void> => {
    const id = requestId(++progress.sent);
    inFlightIds.add(id);
    const outcome = await send(id, generated, virtual ? undefined : runController.signal);
    inFlightIds.delete(id);
    progress.finished++;
    if (outcome === 'success') progress.succeeded++;
    else progress.failed++;
    report();
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
  const loadEnded = new Promise<void>((resolveLoad) => {
    let index = 0;
    let arrivalsDone = false;
    const checkDone = () => {
      if (arrivalsDone && inFlight.size === 0) resolveLoad();
    };
    const finishArrivals = () => {
      arrivalsDone = true;
      arrivalsEndedAt ??= clock.now();
      void Promise.all([...inFlight]).then(function waitAll(): Promise<void> | void {
        if (inFlight.size > 0) return Promise.all([...inFlight]).then(waitAll);
        checkDone();
      });
    };
    if (load.rate !== undefined) {
      const random = mulberry32(deriveSeed(seed, 'arrivals'));
      const arrive = () => {
        if (!arrivalsOpen()) return finishArrivals();
        track(sendOne(makeRequest(index++)));
        const gap = arrivalGapMs(load, random);
        if (rel(clock.now()) + gap >= arrivalsEndMs) return finishArrivals();
        clock.setTimer(gap, arrive);
      };
      clock.setTimer(0, arrive);
    } else {
      const workers = load.concurrency ?? 1;
      const think = load.thinkTime ?? 0;
      let working = workers;
      const worker = async (): Promise<void> => {
        while (arrivalsOpen()) {
          const started = clock.now();
          await sendOne(makeRequest(index++));
          // A zero-time request must still let the clock move, or a duration-only load never ends.
          const pause = think > 0 ? think : clock.now() === started ? 1 : 0;
          if (pause > 0 && arrivalsOpen())
            await clock.sleep(pause, runController.signal).catch(() => undefined);
        }
        if (--working === 0) arrivalsEndedAt ??= clock.now();
      };
      for (let w = 0; w < workers; w++) track(worker());
      finishArrivals();
    }
  });
  let loadDone = false;
  void loadEnded.then(() => {
    loadDone = true;
  });

  // Requests still in flight load.drainTimeout after the arrivals' end hung: at load.duration, or
  // when the last request was sent for a load without a duration.
  const drainDeadline = () => {
    const from = Number.isFinite(arrivalsEndMs) ? t0 + arrivalsEndMs : arrivalsEndedAt;
    return from === undefined ? Number.POSITIVE_INFINITY : from + load.drainTimeout;
  };
  let ended: DriveEnd = 'done';
  try {
    if (virtual) {
      ended = await drive(virtual.clock, {
        done: () => loadDone,
        aborted: () => runController.signal.aborted,
        quietTurns: virtual.quietTurns,
        settle: options.settle,
        // A load without a duration is left to end on its own (or stall) on a virtual clock.
        drainDeadline: () =>
          Number.isFinite(arrivalsEndMs) ? t0 + arrivalsEndMs + load.drainTimeout : Number.POSITIVE_INFINITY,
      });
    } else {
      ended = await untilDrained(clock, loadEnded, runController.signal, drainDeadline);
    }
  } catch (error) {
    runError ??= error;
  }
  // Requests left in flight when the run could go no further ended nowhere: they hung.
  const hung = ended !== 'done' && !runController.signal.aborted && runError === undefined;
  const hungIds = hung ? [...inFlightIds] : [];
  let complete = (loadDone || hung) && runError === undefined && !runController.signal.aborted;
  if (!complete || (hung && !virtual)) {
    // Stop arrivals; real-time calls get a moment to end (hung ones are already counted as such).
    if (!runController.signal.aborted)
      runController.abort(new Error(hung ? 'requests hung past the drain' : 'scenario run interrupted'));
    if (!virtual) for (let i = 0; i < 20 && inFlight.size > 0; i++) await nextTurn();
    if (!hung) complete = false;
  }
  options.signal?.removeEventListener('abort', onAbort);
  return {
    sent: progress.sent,
    hung: hungIds,
    complete,
    ...(runError !== undefined ? { error: runError } : {}),
  };
}

/**
 * Real time: waits for the load to end, an abort, or the drain deadline (checked as the arrivals
 * end and then on a timer, since a load without a duration only knows its deadline then).
 */
async function untilDrained(
  clock: Clock,
  loadEnded: Promise<void>,
  signal: AbortSignal,
  deadline: () => number,
): Promise<DriveEnd> {
  const stop = new AbortController();
  const aborted = new Promise<DriveEnd>((resolve) => {
    if (signal.aborted) resolve('done');
    signal.addEventListener('abort', () => resolve('done'), { once: true, signal: stop.signal });
  });
  const undrained = (async (): Promise<DriveEnd> => {
    for (;;) {
      const at = deadline();
      const wait = Number.isFinite(at) ? Math.max(0, at - clock.now()) : 250;
      await clock.sleep(wait, stop.signal);
      if (clock.now() >= deadline()) return 'undrained';
    }
  })().catch(() => 'done' as const);
  try {
    return await Promise.race([loadEnded.then(() => 'done' as const), aborted, undrained]);
  } finally {
    stop.abort();
  }
}
