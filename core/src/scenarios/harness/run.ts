/**
 * One scenario run on one target: the load (driver.ts) from the run's start, then the target's
 * records, the fault windows, the hypotheses (with what the target could not show) and the journal.
 */
import type { Clock } from '../../runtime/clock.ts';
import { evaluateHypotheses } from '../hypotheses/index.ts';
import type { RunJournal } from '../journal.ts';
import type { Scenario } from '../schema.ts';
import { type LoadOptions, runLoad } from './driver.ts';
import { faultWindowsOf } from './faults.ts';
import { finishJournal, type JournalStart, startJournalHeader } from './journal.ts';
import type { Target } from './target.ts';

export interface HarnessOptions extends LoadOptions {
  /** Called with an error that cut the run short (the journal is still returned, 'incomplete'). */
  onError?: ((error: unknown) => void) | undefined;
  /** The journal's header, when the caller already wrote it (the CLI, before the run); else made here. */
  journal?: JournalStart | undefined;
}

export async function runOnTarget(
  scenario: Scenario,
  target: Target,
  clock: Clock,
  options: HarnessOptions,
): Promise<RunJournal> {
  const start = options.journal ?? startJournalHeader(scenario, { seed: options.seed, mode: target.mode });
  const t0 = options.t0 ?? clock.now();
  const load = await runLoad(scenario, clock, target.send, {
    ...options,
    t0,
    ...(target.settle ? { settle: () => target.settle!() } : {}),
  });
  const endAt = clock.now();
  await target.close();
  if (load.error !== undefined) options.onError?.(load.error);
  const durationMs = endAt - t0;
  const seen = target.records({ t0, endAt, hung: load.hung });
  const faultWindows = faultWindowsOf(scenario, durationMs);
  const hypotheses = evaluateHypotheses(
    scenario,
    {
      requests: seen.requests,
      faultWindows,
      breakerTransitions: seen.breakerTransitions,
      durationMs,
      config: scenario.router,
      clockOriginMs: t0,
      requestsSent: load.sent,
    },
    seen.unseen,
  );
  return finishJournal(start, load.complete, {
    clockOriginMs: t0,
    requestsSent: load.sent,
    ...(options.streamShare !== undefined ? { streamShareOverride: options.streamShare } : {}),
    durationMs,
    faultWindows,
    requests: seen.requests,
    faultCounters: seen.faultCounters,
    breakerTransitions: seen.breakerTransitions,
    hypotheses,
    ...(seen.against ? { against: seen.against } : {}),
  });
}
