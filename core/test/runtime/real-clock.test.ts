import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { RealClock } from '../../src/runtime/clock.ts';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RealClock timers (one Node timeout over a heap)', () => {
  it('fires timers in due order, same-millisecond ones in the order they were set', () => {
    // On fake Date and setTimeout all four are set on the same millisecond: with real time a loaded
    // machine could set 'now' more than 10 ms after 'a', and then 'a' rightly fired first.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      const clock = new RealClock();
      const fired: string[] = [];
      clock.setTimer(30, () => fired.push('c'));
      clock.setTimer(10, () => fired.push('a'));
      clock.setTimer(10, () => fired.push('b'));
      clock.setTimer(0, () => fired.push('now'));
      vi.advanceTimersByTime(0);
      expect(fired).toEqual(['now']);
      vi.advanceTimersByTime(10);
      expect(fired).toEqual(['now', 'a', 'b']);
      vi.advanceTimersByTime(20);
      expect(fired).toEqual(['now', 'a', 'b', 'c']);
      expect(clock.pendingTimers).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never runs a cancelled timer, and later timers still fire after cancelled earlier ones', async () => {
    const clock = new RealClock();
    const fired: string[] = [];
    const cancelA = clock.setTimer(5, () => fired.push('a'));
    clock.setTimer(25, () => fired.push('b'));
    cancelA();
    cancelA();
    expect(clock.pendingTimers).toBe(1);
    await wait(50);
    expect(fired).toEqual(['b']);
  });

  it('fires no earlier than asked', async () => {
    const clock = new RealClock();
    const started = Date.now();
    await clock.sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20);
  });

  it('keeps memory bounded when many timers are set and cancelled while one stays live', async () => {
    const clock = new RealClock();
    let fired = 0;
    clock.setTimer(40, () => fired++);
    for (let i = 0; i < 10_000; i++) clock.setTimer(60_000, () => fired++)();
    expect(clock.pendingTimers).toBe(1);
    await wait(70);
    expect(fired).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a timer set from a firing callback fires on a later turn', () => {
    // Node's own timers and Date.now() under vitest's fake clock: both 5 ms timers are due on the same
    // millisecond (with real time a loaded machine could set them a millisecond apart, and then 'first'
    // fired alone and 'nested' rightly ran before 'second'). The nested 0 ms timer is due on that same
    // millisecond too, and must still wait for a later turn rather than join the batch being fired.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      const clock = new RealClock();
      const fired: string[] = [];
      clock.setTimer(5, () => {
        fired.push('first');
        clock.setTimer(0, () => fired.push('nested'));
      });
      clock.setTimer(5, () => fired.push('second'));
      vi.advanceTimersByTime(4);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(fired).toEqual(['first', 'second']);
      expect(clock.pendingTimers).toBe(1);
      vi.runOnlyPendingTimers();
      expect(fired).toEqual(['first', 'second', 'nested']);
      expect(clock.pendingTimers).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a cancelled deadline does not keep the process alive, a pending sleep does, a throwing timer stops no other', () => {
    const module = new URL('../../src/runtime/clock.ts', import.meta.url).pathname;
    const run = (code: string) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', code], { timeout: 20_000, encoding: 'utf8' });
    const cancelled = run(
      `import { RealClock } from '${module}'; const c = new RealClock(); c.setTimer(600000, () => {})(); console.log('end');`,
    );
    expect(cancelled.status).toBe(0);
    expect(cancelled.stdout.trim()).toBe('end');
    const sleeping = run(
      `import { RealClock } from '${module}'; const c = new RealClock(); c.setTimer(600000, () => {})(); await c.sleep(300); console.log('slept');`,
    );
    expect(sleeping.status).toBe(0);
    expect(sleeping.stdout.trim()).toBe('slept');
    // A throwing callback is an uncaught exception of its own, as with setTimeout; the others still run.
    const throwing = run(
      `import { RealClock } from '${module}'; process.on('uncaughtException', (e) => console.log('uncaught ' + e.message)); const c = new RealClock(); c.setTimer(5, () => { throw new Error('boom'); }); c.setTimer(5, () => console.log('second'));`,
    );
    expect(throwing.stdout.trim().split('\n').sort()).toEqual(['second', 'uncaught boom']);
  });
});
