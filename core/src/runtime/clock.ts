/**
 * All waiting and all timestamps in the runtime go through a Clock, so that a virtual clock can
 * drive retries, deadlines, breakers and budgets deterministically (tests, scenario runs).
 */
export interface Clock {
  /** Milliseconds since the epoch (real or virtual). */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Shared sleep on top of any setTimer, honouring an AbortSignal. */
function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(abortReason(signal!));
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
  setTimer(ms: number, fn: () => void): () => void {
    const handle = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(handle);
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Lets pending I/O callbacks and promise continuations run (one macrotask turn). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that only moves when told to. `advance` fires due timers in time order and lets the
 * event loop turn between them, so work triggered by a timer (including in-process HTTP) can run
 * before the next timer is due.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: VirtualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    // Keep the list sorted by (at, seq): insertion keeps firing order deterministic.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    this.#notifyWaiters();
    return () => {
      const index = this.#timers.indexOf(timer);
      if (index >= 0) this.#timers.splice(index, 1);
    };
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, or undefined if none is pending. */
  nextTimerAt(): number | undefined {
    return this.#timers[0]?.at;
  }

  /** Resolves once at least `count` timers are pending (e.g. the router has started a backoff sleep). */
  whenTimersPending(count = 1): Promise<void> {
    if (this.#timers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number, turnsBetweenTimers = 3): Promise<void> {
    await this.advanceTo(this.#now + ms, turnsBetweenTimers);
  }

  async advanceTo(target: number, turnsBetweenTimers = 3): Promise<void> {
    for (let turn = 0; turn < turnsBetweenTimers; turn++) await nextTurn();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      for (let turn = 0; turn < turnsBetweenTimers; turn++) await nextTurn();
    }
    this.#now = Math.max(this.#now, target);
  }

  /** Jumps to the next pending timer and fires it (and any due at the same instant). Returns false if none. */
  async runNext(turnsBetweenTimers = 3): Promise<boolean> {
    const at = this.nextTimerAt();
    if (at === undefined) return false;
    await this.advanceTo(at, turnsBetweenTimers);
    return true;
  }

  #notifyWaiters(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.#timers.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}
