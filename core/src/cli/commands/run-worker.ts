/**
 * A worker thread that runs scenarios for `switchyard run`: virtual-time runs are CPU-bound, so
 * each runs on its own thread (and event loop) and `--concurrency` uses the machine's cores.
 */
import { parentPort } from 'node:worker_threads';
import {
  type JournalStart,
  type RunJournal,
  type RunProgress,
  runScenario,
  type Scenario,
} from '../../scenarios/index.ts';

export type ToWorker =
  | {
      type: 'run';
      id: number;
      scenario: Scenario;
      seed?: number;
      mode: 'virtual' | 'real-time';
      live?: boolean;
      /** `run --stream-share X`. */
      streamShare?: number;
      /** The header of the journal the CLI started on disk: the run finishes that journal. */
      journal: JournalStart;
    }
  | { type: 'abort' };

export type FromWorker =
  | { type: 'progress'; id: number; progress: RunProgress }
  | { type: 'done'; id: number; journal: RunJournal; error?: string }
  | { type: 'crashed'; id: number; error: string };

const port = parentPort;
if (!port) throw new Error('run-worker.ts must run in a worker thread');

let controller: AbortController | undefined;

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    controller?.abort(new Error('interrupted'));
    return;
  }
  controller = new AbortController();
  const { id } = message;
  let lastProgress = 0;
  let runError: string | undefined;
  runScenario(message.scenario, {
    mode: message.mode,
    journal: message.journal,
    // Live: keys come from this process's environment, as the router config names them.
    ...(message.live ? { live: { env: process.env } } : {}),
    signal: controller.signal,
    ...(message.seed !== undefined ? { seed: message.seed } : {}),
    ...(message.streamShare !== undefined ? { streamShare: message.streamShare } : {}),
    onProgress: (progress) => {
      // Progress fires per finished request; a few updates a second are plenty for a bar.
      const now = Date.now();
      if (now - lastProgress < 100) return;
      lastProgress = now;
      port.postMessage({ type: 'progress', id, progress } satisfies FromWorker);
    },
    onError: (error) => {
      runError = error instanceof Error ? error.message : String(error);
    },
  }).then(
    (journal) =>
      port.postMessage({
        type: 'done',
        id,
        journal,
        ...(runError ? { error: runError } : {}),
      } satisfies FromWorker),
    (error: unknown) =>
      port.postMessage({
        type: 'crashed',
        id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies FromWorker),
  );
});
