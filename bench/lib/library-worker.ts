/** A worker thread for the chaos-library bench: runs the scenario file it is sent, answers its simulated ms. */
import { parentPort } from 'node:worker_threads';
import { loadScenario, runScenario } from '@switchyard/core/scenarios';

parentPort!.on('message', async (path: string) => {
  const journal = await runScenario(await loadScenario(path));
  parentPort!.postMessage(journal.durationMs);
});
