import type { Clock } from '../clock.ts';
import type { TimeoutsConfig } from '../config/schema.ts';
import type { TimeoutPhase } from '../errors.ts';
import { SwitchyardError } from '../errors.ts';

/**
 * Deadlines as AbortSignals driven by the injected Clock (never setTimeout), so a virtual clock
 * decides exactly when they fire. The reason of a deadline abort is a SwitchyardError of kind
 * 'timeout' whose timeoutPhase says which wait ran out; a parent abort passes its own reason through.
 */

type Slot = 'phase' | 'total';

/**
 * An AbortController linked to a parent signal, with cancellable clock timers that abort it. Two
 * plain fields rather than a Map of slots: one of these is built per attempt, and the Map was a
 * measurable share of the router's allocations (bench/benches/overhead.ts).
 */
class TimedAbort {
  readonly controller = new AbortController();
  readonly #clock: Clock;
  readonly #parent: AbortSignal | undefined;
  #phaseTimer: (() => void) | undefined;
  #totalTimer: (() => void) | undefined;
  readonly #notAfter: number;
  readonly #onParentAbort = () => this.abort(this.#parent!.reason);

  /**
   * `notAfter`: when the parent's own deadline fires (clock time). A timer due at or after it could
   * never fire first (the parent's timer was set earlier, so it wins a tie too), so it is not set.
   */
  constructor(clock: Clock, parent: AbortSignal | undefined, notAfter = Number.POSITIVE_INFINITY) {
    this.#clock = clock;
    this.#parent = parent;
    this.#notAfter = notAfter;
    if (parent?.aborted) this.controller.abort(parent.reason);
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  get done(): boolean {
    return this.controller.signal.aborted;
  }

  arm(slot: Slot, ms: number, reason: () => SwitchyardError): void {
    this.cancel(slot);
    if (this.done || this.#clock.now() + ms >= this.#notAfter) return;
    const cancel = this.#clock.setTimer(ms, () => {
      if (slot === 'phase') this.#phaseTimer = undefined;
      else this.#totalTimer = undefined;
      this.abort(reason());
    });
    if (slot === 'phase') this.#phaseTimer = cancel;
    else this.#totalTimer = cancel;
  }

  cancel(slot: Slot): void {
    if (slot === 'phase') {
      this.#phaseTimer?.();
      this.#phaseTimer = undefined;
    } else {
      this.#totalTimer?.();
      this.#totalTimer = undefined;
    }
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.dispose();
    this.controller.abort(reason);
  }

  /** Clears every timer and unlinks from the parent; the signal stays as it is. Idempotent. */
  dispose(): void {
    this.cancel('phase');
    this.cancel('total');
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}

function timeoutError(phase: TimeoutPhase, message: string, final = false): SwitchyardError {
  // A request out of time can neither retry nor fall back; an attempt timeout can do both.
  return new SwitchyardError('timeout', {
    message,
    timeoutPhase: phase,
    ...(final ? { retryable: false, fallbackable: false } : {}),
  });
}

/**
 * The deadlines of one attempt: 'headers' until headersReceived(); for streams then 'first_token'
 * until the first chunkReceived() and 'idle' re-armed by every chunk; for a non-streamed body
 * 'body_idle' re-armed by every bodyChunkReceived(); and 'total' (attemptMs) over the whole attempt
 * including the body read. Call dispose() in a finally.
 */
export class AttemptDeadline {
  readonly signal: AbortSignal;
  readonly #timed: TimedAbort;
  readonly #timeouts: TimeoutsConfig;
  readonly #streaming: boolean;
  #phase: 'headers' | 'first_token' | 'idle' | 'body_idle' = 'headers';

  /**
   * `notAfter`: when the parent signal's own deadline fires, if it has one. Deadlines that would
   * fall at or after it are left to the parent: in the common case (attemptMs ≥ the time left) one
   * timer less per attempt, and a cheaper idle re-arm per chunk near the end.
   */
  constructor(
    clock: Clock,
    timeouts: TimeoutsConfig,
    parent: AbortSignal,
    options: { streaming: boolean; notAfter?: number },
  ) {
    this.#timed = new TimedAbort(clock, parent, options.notAfter);
    this.signal = this.#timed.controller.signal;
    this.#timeouts = timeouts;
    this.#streaming = options.streaming;
    this.#timed.arm('phase', timeouts.headersMs, () =>
      timeoutError('headers', `No response headers within ${timeouts.headersMs} ms`),
    );
    this.#timed.arm('total', timeouts.attemptMs, () =>
      timeoutError('total', `Attempt did not finish within ${timeouts.attemptMs} ms`),
    );
  }

  /** Which wait is running now. */
  get phase(): 'headers' | 'first_token' | 'idle' | 'body_idle' {
    return this.#phase;
  }

  headersReceived(): void {
    if (this.#phase !== 'headers' || this.#timed.done) return;
    if (!this.#streaming) {
      this.#phase = 'body_idle';
      this.bodyChunkReceived();
      return;
    }
    this.#phase = 'first_token';
    const ms = this.#timeouts.firstTokenMs;
    this.#timed.arm('phase', ms, () => timeoutError('first_token', `No first token within ${ms} ms`));
  }

  /** A chunk of a non-streamed body arrived: restarts the body-idle wait. */
  bodyChunkReceived(): void {
    if (this.#phase !== 'body_idle' || this.#timed.done) return;
    const ms = this.#timeouts.bodyIdleMs;
    this.#timed.arm('phase', ms, () =>
      timeoutError('body_idle', `Response body idle for more than ${ms} ms`),
    );
  }

  /** A stream chunk arrived: ends the first-token wait and restarts the idle wait. */
  chunkReceived(): void {
    if (!this.#streaming || this.#timed.done) return;
    this.#phase = 'idle';
    const ms = this.#timeouts.idleMs;
    this.#timed.arm('phase', ms, () => timeoutError('idle', `Stream idle for more than ${ms} ms`));
  }

  dispose(): void {
    this.#timed.dispose();
  }
}

/**
 * The deadline of a whole request (totalMs), across attempts and backoff sleeps. Pass its signal
 * as the parent of each AttemptDeadline, and sleep through sleep() so a backoff cannot outlive it.
 * Its timeout error is neither retryable nor fallbackable: there is no time left for either.
 */
export class RequestDeadline {
  readonly signal: AbortSignal;
  readonly #timed: TimedAbort;
  readonly #clock: Clock;
  readonly #endsAt: number;
  #expired = false;

  constructor(clock: Clock, totalMs: number, parent?: AbortSignal) {
    this.#clock = clock;
    this.#endsAt = clock.now() + totalMs;
    this.#timed = new TimedAbort(clock, parent);
    this.signal = this.#timed.controller.signal;
    this.#timed.arm('total', totalMs, () => {
      this.#expired = true;
      return timeoutError('total', `request exceeded its total deadline of ${totalMs} ms`, true);
    });
  }

  /** Clock time at which the deadline fires. */
  get endsAt(): number {
    return this.#endsAt;
  }

  /** Time left before the deadline (0 once it has passed). */
  remainingMs(): number {
    return Math.max(0, this.#endsAt - this.#clock.now());
  }

  /** True once the request deadline itself fired (not a parent abort). */
  get expired(): boolean {
    return this.#expired;
  }

  /** Sleeps on the clock; rejects with the abort reason if the request ends first. */
  sleep(ms: number): Promise<void> {
    return this.#clock.sleep(ms, this.signal);
  }

  dispose(): void {
    this.#timed.dispose();
  }
}
