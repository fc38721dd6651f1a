/**
 * Chaos library speed, three figures side by side in one run:
 *  - the library as `switchyard run` runs it on 2 cores (two worker threads, a scenario each at a
 *    time): simulated time against wall time (target ×500);
 *  - each scenario alone on this thread, against its bare cost: the same requests (same prompts,
 *    streams, providers and models) sent one by one through the runtime's adapter over the official
 *    SDK straight to the zero-latency simulator, with no router, no faults and no harness (target:
 *    the library's wall time per request ≤ 2× the bare cost). Scenario and bare run back to back,
 *    scenario by scenario. Both are also timed in CPU time, which on an idle machine is the wall
 *    time and which other workloads on a shared machine do not inflate: the ratio is taken on it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ChatRequest, createAdapter, VirtualClock } from '@switchyard/core';
import { chaosFetch, createSimulator, ZERO_LATENCY } from '@switchyard/core/faults';
import { createRequestFactory, loadScenario, runScenario, type Scenario } from '@switchyard/core/scenarios';
import { emit } from '../lib/result.ts';
import { round } from '../lib/stats.ts';

const dir = new URL('../../scenarios/', import.meta.url).pathname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('router.'))
  .sort();
const scenarios = await Promise.all(files.map((f) => loadScenario(join(dir, f))));

/** Wall and CPU ms of `run`. */
async function timed<T>(run: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** The same requests as the scenario's, each straight to the simulator through its deployment's adapter. */
async function bareRun(scenario: Scenario, count: number): Promise<void> {
  const simulator = createSimulator({
    clock: new VirtualClock(),
    seed: scenario.seed,
    latency: { '*': ZERO_LATENCY },
  });
  const fetch = chaosFetch(simulator);
  const config = scenario.router;
  const adapters = new Map(
    config.deployments.map((d) => [
      d.id,
      createAdapter(
        {
          ...d,
          baseURL: d.provider === 'anthropic' || d.provider === 'ollama' ? 'http://sim' : 'http://sim/v1',
        },
        { apiKey: 'sk-test-bench-not-a-real-key', fetch },
      ),
    ]),
  );
  const make = createRequestFactory(scenario, scenario.seed);
  const signal = new AbortController().signal;
  for (let i = 0; i < count; i++) {
    const { route, stream, request } = make(i);
    const deployment = config.routes.find((r) => r.name === route)?.deployments[0] ?? route;
    const adapter = adapters.get(deployment) ?? adapters.values().next().value!;
    const asked: ChatRequest = { ...request, model: adapter.model };
    if (stream) for await (const _ of adapter.stream(asked, { signal }));
    else await adapter.complete(asked, { signal });
  }
}

let wallMs = 0;
let cpuMs = 0;
let bareMs = 0;
let bareCpuMs = 0;
let simulatedMs = 0;
let requests = 0;
let providerCalls = 0;
let complete = 0;
const perScenario: Record<string, Record<string, number | string>> = {};
for (const scenario of scenarios) {
  const run = await timed(() => runScenario(scenario));
  const journal = run.value;
  const bare = await timed(() => bareRun(scenario, journal.requests.length));
  const wall = run.wallMs;
  wallMs += wall;
  cpuMs += run.cpuMs;
  bareMs += bare.wallMs;
  bareCpuMs += bare.cpuMs;
  simulatedMs += journal.durationMs;
  requests += journal.requests.length;
  providerCalls += journal.faultCounters.requestsSeen;
  if (journal.status === 'complete') complete++;
  const perRequest = (ms: number) => (ms * 1000) / journal.requests.length;
  perScenario[scenario.name] = {
    wallMs: round(wall, 1),
    simulatedMs: journal.durationMs,
    requests: journal.requests.length,
    providerCalls: journal.faultCounters.requestsSeen,
    usPerRequest: round(perRequest(wall), 0),
    cpuUsPerRequest: round(perRequest(run.cpuMs), 0),
    bareUsPerRequest: round(perRequest(bare.wallMs), 0),
    bareCpuUsPerRequest: round(perRequest(bare.cpuMs), 0),
    verdict: journal.verdict,
  };
  console.log(
    `  ${scenario.name.padEnd(26)} ${round(wall, 0).toString().padStart(6)} ms wall  ${(journal.durationMs / 1000).toFixed(1).padStart(6)} s simulated  ${String(journal.requests.length).padStart(5)} requests  ${round(perRequest(run.cpuMs), 0)} µs CPU/request vs bare ${round(perRequest(bare.cpuMs), 0)} (×${round(run.cpuMs / bare.cpuMs, 2)})  ${journal.verdict}`,
  );
}

/** The whole library on two worker threads, as `switchyard run` (--concurrency 2) runs it. */
async function onTwoCores(): Promise<{ wallMs: number; simulatedMs: number }> {
  const queue = [...files];
  let simulated = 0;
  const started = performance.now();
  await Promise.all(
    [0, 1].map(async () => {
      const worker = new Worker(new URL('../lib/library-worker.ts', import.meta.url));
      try {
        for (let file = queue.shift(); file; file = queue.shift()) {
          const path = join(dir, file);
          const ms = await new Promise<number>((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
            worker.postMessage(path);
          });
          simulated += ms;
        }
      } finally {
        await worker.terminate();
      }
    }),
  );
  return { wallMs: performance.now() - started, simulatedMs: simulated };
}
const twoCores = await onTwoCores();

const metrics = {
  scenarios: files.length,
  wall_ms: wallMs,
  simulated_ms: simulatedMs,
  speedup: simulatedMs / wallMs,
  speedup_2_cores: twoCores.simulatedMs / twoCores.wallMs,
  wall_ms_2_cores: twoCores.wallMs,
  requests,
  provider_calls: providerCalls,
  us_per_request: (wallMs * 1000) / requests,
  bare_us_per_request: (bareMs * 1000) / requests,
  cpu_us_per_request: (cpuMs * 1000) / requests,
  bare_cpu_us_per_request: (bareCpuMs * 1000) / requests,
  per_request_vs_bare: cpuMs / bareCpuMs,
  per_request_vs_bare_wall: wallMs / bareMs,
  us_per_provider_call: (wallMs * 1000) / providerCalls,
  requests_per_wall_s: requests / (wallMs / 1000),
};
console.log(
  `chaos library: ${files.length} scenarios, ${round(simulatedMs / 1000, 1)} s simulated in ${round(wallMs / 1000, 2)} s wall on one thread (×${round(metrics.speedup, 0)}), ` +
    `${round(twoCores.wallMs / 1000, 2)} s on 2 cores (×${round(metrics.speedup_2_cores, 0)}); ${requests} requests / ${providerCalls} provider calls; ` +
    `${round(metrics.cpu_us_per_request, 0)} µs CPU per request vs ${round(metrics.bare_cpu_us_per_request, 0)} µs bare (×${round(metrics.per_request_vs_bare, 2)}; wall ×${round(metrics.per_request_vs_bare_wall, 2)})`,
);
emit({
  metrics,
  checks: {
    'every scenario run completed': complete === files.length,
    'the library on 2 cores covered the same simulated time':
      Math.abs(twoCores.simulatedMs - simulatedMs) < 1,
  },
  notes: { perScenario },
});
