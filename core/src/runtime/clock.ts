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

interface QueuedTimer {
  at: number;
  seq: number;
  /** Cleared when the timer fires or is cancelled. */
  fn: (() => void) | undefined;
}

/**
 * Pending timers of a clock: a binary min-heap by (due time, order set), so timers due at the same
 * instant fire in the order they were set. Cancelling only marks the entry (O(1)); cancelled entries
 * are dropped when they reach the top, all at once when no live timer is left, or by a rebuild when
 * they outnumber the live ones four to one, so memory stays bounded. Requests arm deadlines and
 * cancel nearly all of them, so cancelling must be cheap: the sorted array this replaces paid O(n)
 * per cancel, quadratic with 10,000 requests in flight (bench/benches/scale.ts).
 */
class TimerQueue {
  #heap: QueuedTimer[] = [];
  #seq = 0;
  #live = 0;

  /** Timers set and neither fired nor cancelled. */
  get size(): number {
    return this.#live;
  }

  add(at: number, fn: () => void): QueuedTimer {
    const timer: QueuedTimer = { at, seq: this.#seq++, fn };
    this.#push(timer);
    this.#live++;
    return timer;
  }

  /** Cancels a timer if it has neither fired nor been cancelled; returns whether it did. */
  cancel(timer: QueuedTimer): boolean {
    if (timer.fn === undefined) return false;
    timer.fn = undefined;
    this.#live--;
    if (this.#live === 0) this.#heap = [];
    else if (this.#heap.length > 64 && this.#heap.length > 4 * this.#live) this.#rebuild();
    return true;
  }

  /** When the earliest live timer is due. */
  nextAt(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.at;
  }

  /** Removes and returns the earliest live timer's callback if it is due by `time`. */
  takeDue(time: number): { at: number; fn: () => void } | undefined {
    this.#dropCancelledTop();
    const top = this.#heap[0];
    if (!top || top.at > time) return undefined;
    this.#pop();
    const fn = top.fn!;
    top.fn = undefined;
    this.#live--;
    if (this.#live === 0) this.#heap = [];
    return { at: top.at, fn };
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
  }

  #rebuild(): void {
    const live = this.#heap.filter((t) => t.fn !== undefined);
    this.#heap = [];
    for (const timer of live) this.#push(timer);
  }

  #push(timer: QueuedTimer): void {
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

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (heap.length === 0 || !last) return;
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
}

function earlier(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Wall-clock time. The timers live in a TimerQueue served by a single Node timeout armed for the
 * earliest one, rather than a setTimeout each: a request arms three long deadlines and nearly always
 * cancels them, and Node keeps one list per distinct duration that it deletes when its last timer is
 * cleared, so each request paid for creating and destroying three lists: ~12 µs per request
 * (bench/benches/overhead.ts, measured interleaved). The Node timeout is unref'd while no live timer
 * is pending, so a cancelled deadline never keeps the process alive.
 */
export class RealClock implements Clock {
  readonly #queue = new TimerQueue();
  #timeout: NodeJS.Timeout | undefined;
  #timeoutAt = Number.POSITIVE_INFINITY;

  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const at = Date.now() + Math.max(0, ms);
    const timer = this.#queue.add(at, fn);
    if (at < this.#timeoutAt) this.#arm(at);
    else if (this.#queue.size === 1) this.#timeout?.ref();
    // One closure per timer: requests set several and cancel nearly all of them.
    return () => {
      if (this.#queue.cancel(timer) && this.#queue.size === 0) this.#timeout?.unref();
    };
  }

  /** Live timers (for tests). */
  get pendingTimers(): number {
    return this.#queue.size;
  }

  #arm(at: number): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeoutAt = at;
    this.#timeout = setTimeout(() => this.#fire(), Math.max(0, at - Date.now()));
  }

  #fire(): void {
    this.#timeout = undefined;
    this.#timeoutAt = Number.POSITIVE_INFINITY;
    // Only timers due now: one set by a callback below for 0 ms waits for the next turn, as with setTimeout.
    const now = Date.now();
    const due: Array<() => void> = [];
    for (let timer = this.#queue.takeDue(now); timer; timer = this.#queue.takeDue(now)) due.push(timer.fn);
    const next = this.#queue.nextAt();
    if (next !== undefined) this.#arm(next);
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
  readonly #queue = new TimerQueue();
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
    // Fired in (due time, order set) order: deterministic.
    const timer = this.#queue.add(this.#now + Math.max(0, ms), fn);
    if (this.#waiters.length > 0) this.#notifyWaiters();
    return () => {
      this.#queue.cancel(timer);
    };
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#queue.size;
  }

  /** When the next timer is due, or undefined if none is pending. */
  nextTimerAt(): number | undefined {
    return this.#queue.nextAt();
  }

  /** Resolves once at least `count` timers are pending (e.g. the router has started a backoff sleep). */
  whenTimersPending(count = 1): Promise<void> {
    if (this.#queue.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number, turnsBetweenTimers = 3): Promise<void> {
    await this.advanceTo(this.#now + ms, turnsBetweenTimers);
  }

  async advanceTo(target: number, turnsBetweenTimers = 3): Promise<void> {
    for (let turn = 0; turn < turnsBetweenTimers; turn++) await nextTurn();
    for (;;) {
      const next = this.#queue.takeDue(target);
      if (!next) break;
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
      if (this.#queue.size < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}
