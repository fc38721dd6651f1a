/**
 * The only builder of a run's journal header (identity, wall clock, scenario, versions, mode, config)
 * and of the finished journal with its verdict. The CLI starts a journal on disk with the same header
 * before the run, so the incomplete journal and the final one are the same run.
 */
import { createRequire } from 'node:module';
import { sdkVersions } from '../../runtime/providers/sdk-versions.ts';
import { runVerdict } from '../hypotheses/index.ts';
import { JOURNAL_SCHEMA_VERSION, type RunJournal } from '../journal.ts';
import type { Scenario } from '../schema.ts';

/** What a journal says before its run: identity, when it started, what runs, with what, how. */
export type JournalStart = Pick<RunJournal, 'runId' | 'wall' | 'scenario' | 'versions' | 'mode' | 'config'>;

let versions: RunJournal['versions'] | undefined;

/** Versions of Switchyard, Node and the SDKs, as journals record them. */
export function runVersions(): RunJournal['versions'] {
  versions ??= {
    switchyard: (createRequire(import.meta.url)('../../../package.json') as { version: string }).version,
    // Node version without the patch-level noise would hide real differences: keep it whole.
    node: process.versions.node,
    sdks: sdkVersions(),
  };
  return versions;
}

/** The header of a run of `scenario` about to start. */
export function startJournalHeader(
  scenario: Scenario,
  options: { seed?: number | undefined; mode: RunJournal['mode'] },
): JournalStart {
  return {
    runId: crypto.randomUUID(),
    wall: { startedAt: new Date().toISOString() },
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: scenario.file,
      seed: options.seed ?? scenario.seed,
    },
    versions: runVersions(),
    mode: options.mode,
    config: scenario.router,
  };
}

/** What the run produced, beside its header. */
export type RunResult = Omit<
  RunJournal,
  'schemaVersion' | 'runId' | 'status' | 'wall' | 'scenario' | 'versions' | 'mode' | 'config' | 'verdict'
>;

/** The finished journal: status, wall-clock span and verdict. */
export function finishJournal(start: JournalStart, complete: boolean, result: RunResult): RunJournal {
  const finishedAt = new Date();
  return {
    schemaVersion: JOURNAL_SCHEMA_VERSION,
    runId: start.runId,
    status: complete ? 'complete' : 'incomplete',
    wall: {
      startedAt: start.wall.startedAt,
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - Date.parse(start.wall.startedAt),
    },
    scenario: start.scenario,
    versions: start.versions,
    mode: start.mode,
    ...(result.clockOriginMs !== undefined ? { clockOriginMs: result.clockOriginMs } : {}),
    ...(result.requestsSent !== undefined ? { requestsSent: result.requestsSent } : {}),
    ...(result.streamShareOverride !== undefined ? { streamShareOverride: result.streamShareOverride } : {}),
    config: start.config,
    durationMs: result.durationMs,
    faultWindows: result.faultWindows,
    requests: result.requests,
    faultCounters: result.faultCounters,
    breakerTransitions: result.breakerTransitions,
    hypotheses: result.hypotheses,
    verdict: runVerdict(complete, result.hypotheses),
    ...(result.against ? { against: result.against } : {}),
  };
}
