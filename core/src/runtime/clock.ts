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

interface RealTimer {
  at: number;
  seq: number;
  /** Cleared when the timer fires or is cancelled. */
  fn: (() => void) | undefined;
}

/**
 * Wall-clock time. Every request arms a few long deadlines (headers, attempt, total) and almost always
 * cancels them all, so the timers live in one min-heap served by a single Node timeout, armed for the
 * earliest one. Why not a setTimeout each: Node keeps one list per distinct duration and deletes it
 * when its last timer is cleared, so a request that cancels its own timers paid for creating and
 * destroying three lists: ~12 µs per request (bench/benches/overhead.ts, measured interleaved).
 * Cancelling only marks the entry; cancelled entries are dropped when they reach the top, all at once
 * when no live timer is left, or by a rebuild when they outnumber the live ones (memory stays bounded).
 * The Node timeout is unref'd while no live timer is pending, so a cancelled deadline never keeps the
 * process alive. Timers due at the same millisecond fire in the order they were set.
 */
export class RealClock implements Clock {
  #heap: RealTimer[] = [];
  #seq = 0;
  #live = 0;
  #timeout: NodeJS.Timeout | undefined;
  #timeoutAt = Number.POSITIVE_INFINITY;

  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: RealTimer = { at: Date.now() + Math.max(0, ms), seq: this.#seq++, fn };
    this.#push(timer);
    this.#live++;
    if (timer.at < this.#timeoutAt) this.#arm(timer.at);
    else if (this.#live === 1) this.#timeout?.ref();
    return () => {
      if (timer.fn === undefined) return;
      timer.fn = undefined;
      this.#live--;
      if (this.#live === 0) {
        this.#heap = [];
        this.#timeout?.unref();
      } else if (this.#heap.length > 64 && this.#heap.length > 4 * this.#live) {
        this.#rebuild();
      }
    };
  }

  /** Live timers (for tests). */
  get pendingTimers(): number {
    return this.#live;
  }

  #arm(at: number): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeoutAt = at;
    this.#timeout = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
    if (this.#live === 0) this.#timeout.unref();
  }

  #fire(): void {
    this.#timeout = undefined;
    this.#timeoutAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const heap = this.#heap;
    // Only timers due now: one set by a callback below for 0 ms waits for the next turn, as with setTimeout.
    const due: Array<() => void> = [];
    while (heap.length > 0 && heap[0]!.at <= now) {
      const timer = this.#pop()!;
      if (timer.fn === undefined) continue;
      due.push(timer.fn);
      timer.fn = undefined;
      this.#live--;
    }
    if (this.#live === 0) this.#heap = [];
    else {
      while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
      if (this.#heap.length > 0) this.#arm(this.#heap[0]!.at);
    }
    for (const fn of due) {
      try {
        fn();
      } catch (error) {
        // As with setTimeout: an uncaught exception of its own, and the other due timers still run.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #rebuild(): void {
    const live = this.#heap.filter((t) => t.fn !== undefined);
    this.#heap = [];
    for (const timer of live) this.#push(timer);
  }

  #push(timer: RealTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): RealTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && earlier(heap[left]!, heap[least]!)) least = left;
        if (right < heap.length && earlier(heap[right]!, heap[least]!)) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least]!, heap[i]!];
        i = least;
      }
    }
    return top;
  }
}

function earlier(a: RealTimer, b: RealTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
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
