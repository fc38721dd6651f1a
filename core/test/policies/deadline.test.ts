import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { TimeoutPhase } from '../../src/runtime/errors.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { AttemptDeadline, RequestDeadline } from '../../src/runtime/policies/deadline.ts';
import { timeouts } from './timeouts.ts';

function setup(streaming: boolean, parent = new AbortController()) {
  const clock = new VirtualClock();
  const deadline = new AttemptDeadline(clock, timeouts, parent.signal, { streaming });
  return { clock, deadline, parent };
}

function expectTimeout(signal: AbortSignal, phase: TimeoutPhase): void {
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBeInstanceOf(SwitchyardError);
  expect(signal.reason).toMatchObject({ kind: 'timeout', timeoutPhase: phase });
}

describe('AttemptDeadline', () => {
  it('fires the headers timeout at exactly headersMs, not before', async () => {
    const { clock, deadline } = setup(false);
    await clock.advance(999);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expectTimeout(deadline.signal, 'headers');
    expect(clock.pendingTimers).toBe(0);
  });

  // Issue 10, defect 4: a stalled non-streamed body was bounded only by the attempt timeout.
  it('cancels the headers timeout on headersReceived; a non-streamed body may idle bodyIdleMs between chunks', async () => {
    const { clock, deadline } = setup(false);
    await clock.advance(900);
    deadline.headersReceived();
    expect(deadline.phase).toBe('body_idle');
    deadline.chunkReceived(); // stream chunks are not a buffered body's concern
    await clock.advance(699);
    deadline.bodyChunkReceived();
    await clock.advance(699);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expectTimeout(deadline.signal, 'body_idle');
  });

  it('a non-streamed body that keeps trickling is still bounded by attemptMs', async () => {
    const { clock, deadline } = setup(false);
    deadline.headersReceived();
    for (let t = 0; t < 9_999; t += 500) {
      await clock.advance(Math.min(500, 9_999 - t));
      deadline.bodyChunkReceived();
    }
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expectTimeout(deadline.signal, 'total');
  });

  it('waits for the first token, then re-arms the idle timeout on every chunk', async () => {
    const { clock, deadline } = setup(true);
    await clock.advance(100);
    deadline.headersReceived();
    expect(deadline.phase).toBe('first_token');
    // The headers timeout is gone: only first_token and total remain.
    expect(clock.pendingTimers).toBe(2);
    await clock.advance(1_999);
    expect(deadline.signal.aborted).toBe(false);
    deadline.chunkReceived();
    expect(deadline.phase).toBe('idle');
    for (let i = 0; i < 5; i++) {
      await clock.advance(499);
      expect(deadline.signal.aborted).toBe(false);
      deadline.chunkReceived();
    }
    await clock.advance(499);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expectTimeout(deadline.signal, 'idle');
  });

  it("aborts with 'first_token' when the stream never starts", async () => {
    const { clock, deadline } = setup(true);
    deadline.headersReceived();
    await clock.advance(1_999);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expectTimeout(deadline.signal, 'first_token');
  });

  it('fires the total timeout during a long stream that never goes idle', async () => {
    const { clock, deadline } = setup(true);
    deadline.headersReceived();
    deadline.chunkReceived();
    while (clock.now() - Date.UTC(2026, 0, 1) < 9_900) {
      await clock.advance(100);
      deadline.chunkReceived();
    }
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(100);
    expectTimeout(deadline.signal, 'total');
    expect(clock.pendingTimers).toBe(0);
  });

  it('ignores signals after it has fired', async () => {
    const { clock, deadline } = setup(true);
    await clock.advance(1_000);
    deadline.headersReceived();
    deadline.chunkReceived();
    expectTimeout(deadline.signal, 'headers');
    expect(clock.pendingTimers).toBe(0);
  });

  it('clears every timer on dispose and stops following the parent', async () => {
    const { clock, deadline, parent } = setup(true);
    deadline.headersReceived();
    deadline.chunkReceived();
    expect(clock.pendingTimers).toBe(2);
    deadline.dispose();
    expect(clock.pendingTimers).toBe(0);
    parent.abort(new Error('late'));
    await clock.advance(60_000);
    expect(deadline.signal.aborted).toBe(false);
  });

  it("propagates a parent abort with the parent's reason and clears its timers", () => {
    const { clock, deadline, parent } = setup(true);
    const reason = new SwitchyardError('cancelled', { message: 'caller went away' });
    parent.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts aborted under an already aborted parent, arming nothing', () => {
    const clock = new VirtualClock();
    const parent = new AbortController();
    parent.abort('gone');
    const deadline = new AttemptDeadline(clock, timeouts, parent.signal, { streaming: false });
    expect(deadline.signal.reason).toBe('gone');
    expect(clock.pendingTimers).toBe(0);
  });
});

// An attempt follows its request's deadline directly (the router's way) or through its signal.
const parentOf = {
  'the request deadline': (request: RequestDeadline) => request,
  "the request deadline's signal": (request: RequestDeadline) => request.signal,
};

describe.each(Object.entries(parentOf))('AttemptDeadline under %s (notAfter)', (_, parentOf) => {
  it('sets no timer that the request deadline would beat, and the request deadline still ends the attempt', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 5_000);
    // attemptMs (10 s) and bodyIdleMs (60 s) are past the request's end (5 s): only the request and
    // headers timers exist.
    const deadline = new AttemptDeadline(clock, { ...timeouts, bodyIdleMs: 60_000 }, parentOf(request), {
      streaming: false,
      notAfter: clock.now() + 5_000,
    });
    expect(clock.pendingTimers).toBe(2);
    deadline.headersReceived();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(5_000);
    expectTimeout(deadline.signal, 'total');
    expect(deadline.signal.reason).toBe(request.signal.reason);
    expect(request.expired).toBe(true);
    deadline.dispose();
    request.dispose();
  });

  it('still arms the deadlines that fall before the request deadline, and they fire first', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 20_000);
    const deadline = new AttemptDeadline(clock, timeouts, parentOf(request), {
      streaming: true,
      notAfter: clock.now() + 20_000,
    });
    expect(clock.pendingTimers).toBe(3);
    await clock.advance(1_000);
    expectTimeout(deadline.signal, 'headers');
    expect(request.signal.aborted).toBe(false);
    deadline.dispose();
    request.dispose();
  });
});

describe.each(Object.entries(parentOf))('RequestDeadline, attempts following %s', (_, parentOf) => {
  it('bounds attempts and backoff sleeps across the whole request', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 5_000);
    const attempt = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: false });
    attempt.headersReceived();
    await clock.advance(3_000);
    attempt.dispose();
    const sleeping = request.sleep(4_000);
    const outcome = sleeping.then(
      () => 'woke',
      (error: unknown) => error,
    );
    await clock.advance(2_000);
    expect(await outcome).toBe(request.signal.reason);

    const late = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: false });
    expect(late.signal.reason).toBe(request.signal.reason);
    request.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes a request deadline abort into a running attempt', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 2_000);
    const attempt = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: true });
    attempt.headersReceived();
    await clock.advance(2_000);
    expect(attempt.signal.reason).toBe(request.signal.reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it("passes the caller's abort through the request into its attempt", () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const request = new RequestDeadline(clock, 2_000, caller.signal);
    const attempt = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: false });
    caller.abort('stop');
    expect(attempt.signal.reason).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
  });

  it('no longer follows the request once disposed; the next attempt does', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 500);
    const first = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: false });
    first.dispose();
    const second = new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: false });
    await clock.advance(500);
    expect(first.signal.aborted).toBe(false);
    expect(second.signal.reason).toBe(request.signal.reason);
  });

  it('ends every attempt running at once (a hedge beside its primary)', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 2_000);
    const attempts = [1, 2, 3].map(
      () => new AttemptDeadline(clock, timeouts, parentOf(request), { streaming: true }),
    );
    for (const attempt of attempts) attempt.headersReceived();
    attempts[1]!.dispose();
    await clock.advance(2_000);
    expect(attempts.map((a) => a.signal.reason)).toEqual([
      request.signal.reason,
      undefined,
      request.signal.reason,
    ]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('RequestDeadline', () => {
  it('fires at totalMs with a final timeout that neither retries nor falls back', async () => {
    const clock = new VirtualClock();
    const request = new RequestDeadline(clock, 5_000);
    await clock.advance(3_000);
    expect(request.remainingMs()).toBe(2_000);
    expect(request.expired).toBe(false);
    await clock.advance(2_000);
    expect(request.signal.reason).toMatchObject({
      kind: 'timeout',
      timeoutPhase: 'total',
      retryable: false,
      fallbackable: false,
    });
    expect(request.expired).toBe(true);
    expect(request.remainingMs()).toBe(0);
  });

  it('follows its parent and is not expired by a parent abort', () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const request = new RequestDeadline(clock, 2_000, caller.signal);
    caller.abort('stop');
    expect(request.signal.reason).toBe('stop');
    expect(request.expired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});
