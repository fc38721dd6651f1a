/**
 * Driving the virtual clock: the in-process work (router, SDKs, simulator, faults) runs until it is
 * quiet, then the clock jumps to the next timer. Minutes of simulated time take seconds.
 */
import { nextTurn, VirtualClock } from '../../runtime/clock.ts';

/** A VirtualClock that counts timer activity, so the driver can tell when in-process work has settled. */
export class DriverClock extends VirtualClock {
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
 * 'stalled': requests are pending but nothing is scheduled on the clock; 'undrained': they were still
 * in flight after load.drainTimeout. Either way they hung: the run ends there and records them so.
 */
export type DriveEnd = 'done' | 'stalled' | 'undrained';

export interface DriveOptions {
  done(): boolean;
  aborted(): boolean;
  quietTurns: number;
  /** Held work (a shared store's answers) let in between turns; any counts as activity. */
  settle?: (() => Promise<number>) | undefined;
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
export async function drive(clock: DriverClock, options: DriveOptions): Promise<DriveEnd> {
  const settle = async () => {
    let quiet = 0;
    let seen = clock.activity;
    while (quiet < options.quietTurns) {
      await nextTurn();
      if (options.settle && (await options.settle()) > 0) clock.activity++;
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
