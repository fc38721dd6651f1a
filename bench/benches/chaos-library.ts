/**
 * Chaos library speed: every shipped scenario (scenarios/*.yaml, router configs excepted) loaded
 * with loadScenario and run with runScenario in virtual time; wall time against the simulated time
 * the runs cover and the number of simulated requests.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, runScenario } from '@switchyard/core/scenarios';
import { emit } from '../lib/result.ts';
import { round } from '../lib/stats.ts';

const dir = new URL('../../scenarios/', import.meta.url).pathname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('router.'))
  .sort();

let wallMs = 0;
let simulatedMs = 0;
let requests = 0;
let providerCalls = 0;
let complete = 0;
const perScenario: Record<
  string,
  { wallMs: number; simulatedMs: number; requests: number; verdict: string }
> = {};
for (const file of files) {
  const scenario = await loadScenario(join(dir, file));
  const started = performance.now();
  const journal = await runScenario(scenario);
  const wall = performance.now() - started;
  wallMs += wall;
  simulatedMs += journal.durationMs;
  requests += journal.requests.length;
  providerCalls += journal.faultCounters.requestsSeen;
  if (journal.status === 'complete') complete++;
  perScenario[scenario.name] = {
    wallMs: round(wall, 1),
    simulatedMs: journal.durationMs,
    requests: journal.requests.length,
    verdict: journal.verdict,
  };
  console.log(
    `  ${scenario.name.padEnd(28)} ${round(wall, 0).toString().padStart(6)} ms wall  ${(journal.durationMs / 1000).toFixed(1).padStart(7)} s simulated  ${String(journal.requests.length).padStart(5)} requests  ×${round(journal.durationMs / wall, 0)}  ${journal.verdict}`,
  );
}
const metrics = {
  scenarios: files.length,
  wall_ms: wallMs,
  simulated_ms: simulatedMs,
  speedup: simulatedMs / wallMs,
  requests,
  provider_calls: providerCalls,
  requests_per_wall_s: requests / (wallMs / 1000),
};
console.log(
  `chaos library: ${files.length} scenarios, ${round(simulatedMs / 1000, 1)} s simulated in ${round(wallMs / 1000, 2)} s wall (×${round(metrics.speedup, 0)}), ${requests} requests / ${providerCalls} provider calls`,
);
emit({
  metrics,
  checks: { 'every scenario run completed': complete === files.length },
  notes: { perScenario },
});
