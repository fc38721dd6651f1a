/**
 * Scale: N (default 10,000) concurrent in-flight requests through one Router. The simulated upstream
 * has a 2 s time to first token on a VirtualClock that is held until every request is in flight (all
 * N calls are inside the simulator, waiting on the clock), so "in flight" is exact and independent of
 * machine speed. Heap and RSS are measured then (after a GC), and per in-flight request against
 * the idle baseline. Then the clock is released and every request must settle, successfully. Peak
 * RSS is the kernel's high-water mark, not a sample: with all N in flight, and over the whole run
 * (releasing N replies at the same simulated instant is where it usually peaks).
 */
import { nextTurn, VirtualClock } from '@switchyard/core';
import { emit, gc, peakRssBytes } from '../lib/result.ts';
import { benchRouter, heldSimulatorFetch, singleOpenAIConfig } from '../lib/sim.ts';
import { mib, round } from '../lib/stats.ts';

const N = Number(process.env.BENCH_SCALE_REQUESTS ?? 10_000);
const TTFT_MS = 2_000;

const clock = new VirtualClock();
const simulator = heldSimulatorFetch(clock, TTFT_MS);
const router = benchRouter(singleOpenAIConfig(), simulator.fetch, clock);
const messages = [{ role: 'user' as const, content: 'Summarise TCP in one line.' }];

// Warm up (JIT, SDK lazy init) with a few requests, then measure the idle baseline.
for (let i = 0; i < 50; i++) {
  const p = router.complete({ model: 'chat', messages, maxOutputTokens: 16 });
  while (clock.pendingTimers === 0 || simulator.arrived() < i + 1) await nextTurn();
  await clock.advance(TTFT_MS + 10, 1);
  await p;
}
const warmArrivals = simulator.arrived();
const arrived = () => simulator.arrived() - warmArrivals;
gc();
gc();
const base = process.memoryUsage();

let settled = 0;
let succeeded = 0;
let failed = 0;
const started = performance.now();
const all: Promise<void>[] = [];
for (let i = 0; i < N; i++) {
  all.push(
    router.complete({ model: 'chat', messages, maxOutputTokens: 16 }).then(
      () => {
        settled++;
        succeeded++;
      },
      () => {
        settled++;
        failed++;
      },
    ),
  );
}
// Hold the clock until every request has reached the simulator (bounded by wall time).
const deadline = Date.now() + 120_000;
while (arrived() < N && Date.now() < deadline) await nextTurn();
for (let i = 0; i < 5; i++) await nextTurn();
const launchMs = performance.now() - started;
gc();
gc();
const held = process.memoryUsage();
const inFlightPeakRss = peakRssBytes();
const inFlight = arrived() - settled;

// Release: 2 s of simulated time; every request must now finish.
await clock.advance(TTFT_MS + 10, 1);
const releaseDeadline = Date.now() + 120_000;
while (settled < N && Date.now() < releaseDeadline) {
  await nextTurn();
  if (clock.pendingTimers > 0 && settled < N) await clock.advance(1_000, 1);
}
const finishMs = performance.now() - started;
const peakRss = peakRssBytes();
await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 1_000))]);
gc();
const after = process.memoryUsage();

const metrics = {
  requests: N,
  in_flight_at_peak: inFlight,
  baseline_rss_mb: mib(base.rss),
  peak_rss_mb: mib(peakRss),
  in_flight_peak_rss_mb: mib(inFlightPeakRss),
  held_heap_used_mb: mib(held.heapUsed),
  rss_per_request_kb: (held.rss - base.rss) / 1024 / N,
  heap_per_request_kb: (held.heapUsed - base.heapUsed) / 1024 / N,
  after_heap_used_mb: mib(after.heapUsed),
  launch_ms: launchMs,
  total_wall_ms: finishMs,
  settled,
  succeeded,
  failed,
  pending_timers_after: clock.pendingTimers,
};
console.log(
  `scale: ${inFlight} in flight; RSS ${round(metrics.baseline_rss_mb, 0)} → peak ${round(metrics.peak_rss_mb, 0)} MB; heap held ${round(metrics.held_heap_used_mb, 0)} MB; ${round(metrics.heap_per_request_kb)} KB heap and ${round(metrics.rss_per_request_kb)} KB RSS per in-flight request; ${settled}/${N} settled (${succeeded} ok, ${failed} failed), ${clock.pendingTimers} timers left`,
);
emit({
  metrics,
  checks: {
    'every request was in flight at once': inFlight === N,
    'no request lost or left unsettled': settled === N,
    'every request succeeded': succeeded === N,
    'no timer left on the clock': clock.pendingTimers === 0,
  },
});
