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
 * An AbortController that aborts itself when one of its two clock timers fires, and when its parent
 * aborts. What a timer aborts with is built only when it fires (expiry(), from the deadline's own
 * fields), so an armed timer holds no reason closure. A parent that is itself a deadline (an attempt
 * under its request) is followed directly rather than through an 'abort' listener on its signal: the
 * listener and the signal's listener bookkeeping were ~300 bytes held per request in flight, and one
 * of these is built per request and one per attempt (bench/benches/scale.ts). Two plain timer fields
 * rather than a Map of slots, for the same reason.
 */
abstract class TimedAbort extends AbortController {
  readonly #clock: Clock;
  #phaseTimer: (() => void) | undefined;
  #totalTimer: (() => void) | undefined;
  readonly #notAfter: number;
  /** The deadline this one follows directly, and the one that follows this one directly. */
  #parent: TimedAbort | undefined;
  #child: TimedAbort | undefined;
  /** A parent signal followed through a listener (a caller's signal, a hedge's, a second child). */
  #parentSignal: AbortSignal | undefined;
  #onParentAbort: (() => void) | undefined;

  /**
   * `notAfter`: when the parent's own deadline fires (clock time). A timer due at or after it could
   * never fire first (the parent's timer was set earlier, so it wins a tie too), so it is not set.
   */
  constructor(
    clock: Clock,
    parent: AbortSignal | TimedAbort | undefined,
    notAfter = Number.POSITIVE_INFINITY,
  ) {
    super();
    this.#clock = clock;
    this.#notAfter = notAfter;
    const parentSignal = parent instanceof TimedAbort ? parent.signal : parent;
    if (parentSignal?.aborted) super.abort(parentSignal.reason);
    else if (parent instanceof TimedAbort && parent.#child === undefined) {
      parent.#child = this;
      this.#parent = parent;
    } else if (parentSignal) {
      const onParentAbort = () => this.abort(parentSignal.reason);
      parentSignal.addEventListener('abort', onParentAbort, { once: true });
      this.#parentSignal = parentSignal;
      this.#onParentAbort = onParentAbort;
    }
  }

  /** What this aborts with when the timer of `slot` fires. */
  protected abstract expiry(slot: Slot): SwitchyardError;

  protected get done(): boolean {
    return this.signal.aborted;
  }

  protected arm(slot: Slot, ms: number): void {
    this.cancel(slot);
    if (this.done || this.#clock.now() + ms >= this.#notAfter) return;
    const cancel = this.#clock.setTimer(ms, () => {
      if (slot === 'phase') this.#phaseTimer = undefined;
      else this.#totalTimer = undefined;
      this.abort(this.expiry(slot));
    });
    if (slot === 'phase') this.#phaseTimer = cancel;
    else this.#totalTimer = cancel;
  }

  protected cancel(slot: Slot): void {
    if (slot === 'phase') {
      this.#phaseTimer?.();
      this.#phaseTimer = undefined;
    } else {
      this.#totalTimer?.();
      this.#totalTimer = undefined;
    }
  }

  /** Aborts (once) with `reason`, clearing the timers and passing the abort on to a following deadline. */
  override abort(reason: unknown): void {
    if (this.done) return;
    this.dispose();
    super.abort(reason);
    this.#child?.abort(reason);
  }

  /** Clears every timer and stops following the parent; the signal stays as it is. Idempotent. */
  dispose(): void {
    this.cancel('phase');
    this.cancel('total');
    if (this.#parent) {
      this.#parent.#child = undefined;
      this.#parent = undefined;
    }
    if (this.#onParentAbort) {
      this.#parentSignal!.removeEventListener('abort', this.#onParentAbort);
      this.#parentSignal = undefined;
      this.#onParentAbort = undefined;
    }
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
export class AttemptDeadline extends TimedAbort {
  readonly #timeouts: TimeoutsConfig;
  readonly #streaming: boolean;
  #phase: 'headers' | 'first_token' | 'idle' | 'body_idle' = 'headers';

  /**
   * `parent`: the request's deadline (followed directly) or a signal. `notAfter`: when the parent's own
   * deadline fires, if it has one. Deadlines that would fall at or after it are left to the parent: in
   * the common case (attemptMs ≥ the time left) one timer less per attempt, and a cheaper idle re-arm
   * per chunk near the end.
   */
  constructor(
    clock: Clock,
    timeouts: TimeoutsConfig,
    parent: AbortSignal | RequestDeadline,
    options: { streaming: boolean; notAfter?: number },
  ) {
    super(clock, parent, options.notAfter);
    this.#timeouts = timeouts;
    this.#streaming = options.streaming;
    this.arm('phase', timeouts.headersMs);
    this.arm('total', timeouts.attemptMs);
  }

  /** Which wait is running now. */
  get phase(): 'headers' | 'first_token' | 'idle' | 'body_idle' {
    return this.#phase;
  }

  headersReceived(): void {
    if (this.#phase !== 'headers' || this.done) return;
    if (!this.#streaming) {
      this.#phase = 'body_idle';
      this.bodyChunkReceived();
      return;
    }
    this.#phase = 'first_token';
    this.arm('phase', this.#timeouts.firstTokenMs);
  }

  /** A chunk of a non-streamed body arrived: restarts the body-idle wait. */
  bodyChunkReceived(): void {
    if (this.#phase !== 'body_idle' || this.done) return;
    this.arm('phase', this.#timeouts.bodyIdleMs);
  }

  /** A stream chunk arrived: ends the first-token wait and restarts the idle wait. */
  chunkReceived(): void {
    if (!this.#streaming || this.done) return;
    this.#phase = 'idle';
    this.arm('phase', this.#timeouts.idleMs);
  }

  /** The phase timer was armed for the phase the attempt is still in (every change of phase re-arms it). */
  protected expiry(slot: Slot): SwitchyardError {
    const t = this.#timeouts;
    if (slot === 'total') return timeoutError('total', `Attempt did not finish within ${t.attemptMs} ms`);
    switch (this.#phase) {
      case 'headers':
        return timeoutError('headers', `No response headers within ${t.headersMs} ms`);
      case 'first_token':
        return timeoutError('first_token', `No first token within ${t.firstTokenMs} ms`);
      case 'idle':
        return timeoutError('idle', `Stream idle for more than ${t.idleMs} ms`);
      case 'body_idle':
        return timeoutError('body_idle', `Response body idle for more than ${t.bodyIdleMs} ms`);
    }
  }
}

/**
 * The deadline of a whole request (totalMs), across attempts and backoff sleeps. Pass its signal
 * as the parent of each AttemptDeadline, and sleep through sleep() so a backoff cannot outlive it.
 * Its timeout error is neither retryable nor fallbackable: there is no time left for either.
 */
export class RequestDeadline extends TimedAbort {
  readonly #clock: Clock;
  readonly #totalMs: number;
  readonly #endsAt: number;
  #expired = false;

  constructor(clock: Clock, totalMs: number, parent?: AbortSignal) {
    super(clock, parent);
    this.#clock = clock;
    this.#totalMs = totalMs;
    this.#endsAt = clock.now() + totalMs;
    this.arm('total', totalMs);
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

  protected expiry(): SwitchyardError {
    this.#expired = true;
    return timeoutError('total', `request exceeded its total deadline of ${this.#totalMs} ms`, true);
  }
}
