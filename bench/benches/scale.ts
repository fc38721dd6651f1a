/**
 * Scale: N (default 10,000) concurrent in-flight requests through one Router, and side by side in the
 * same run N bare calls of the official openai SDK (maxRetries 0, no router) on the same simulator.
 * The simulated upstream has a 2 s time to first token on a VirtualClock that is held until every
 * call is in flight (all N are inside the simulator, waiting on the clock), so "in flight" is exact
 * and independent of machine speed. Heap and RSS are measured then (after a GC), and per in-flight
 * call against the idle baseline of that phase. Then the clock is released and every call must
 * settle, successfully. The router's heap per in-flight request is reported as a ratio to a bare
 * SDK call's: what the router adds on top of the call it has to make anyway. Peak RSS is the
 * kernel's high-water mark, not a sample, taken in the router phase (which runs first): with all N in
 * flight, and over that phase (releasing N replies at the same simulated instant is where it
 * usually peaks).
 *
 * BENCH_SCALE_SNAPSHOT=<folder> also writes a V8 heap snapshot of each phase while everything is
 * held in flight (router.heapsnapshot, bare.heapsnapshot; take them with BENCH_SCALE_REQUESTS=2000,
 * as 10,000 make snapshots of gigabytes): router minus bare, per constructor, is where the router's
 * own memory goes (bench/tools/heap-diff.ts prints it).
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { nextTurn, VirtualClock } from '@switchyard/core';
import OpenAI from 'openai';
import { emit, gc, peakRssBytes } from '../lib/result.ts';
import { BENCH_KEY, benchRouter, simulatorFetch, singleOpenAIConfig } from '../lib/sim.ts';
import { mib, round } from '../lib/stats.ts';

const N = Number(process.env.BENCH_SCALE_REQUESTS ?? 10_000);
const TTFT_MS = 2_000;
const messages = [{ role: 'user' as const, content: 'Summarise TCP in one line.' }];

interface Phase {
  inFlight: number;
  settled: number;
  succeeded: number;
  failed: number;
  pendingTimers: number;
  base: NodeJS.MemoryUsage;
  held: NodeJS.MemoryUsage;
  inFlightPeakRss: number;
  peakRss: number;
  launchMs: number;
  totalWallMs: number;
}

/**
 * Warms `call` up, then holds N calls in flight on a fresh simulator and clock, measures, releases
 * and waits for every call to settle. `makeCall` gets the phase's fetch and clock.
 */
async function phase(
  name: 'router' | 'bare',
  makeCall: (fetchImpl: typeof fetch, clock: VirtualClock) => () => Promise<unknown>,
): Promise<Phase> {
  const clock = new VirtualClock();
  const inner = simulatorFetch({
    clock,
    latency: { '*': { ttftMedianMs: TTFT_MS, ttftSigma: 0, tokensPerSecond: 0, tokensPerSecondSd: 0 } },
  });
  let arrived = 0;
  const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
    arrived++;
    return inner(input, init);
  }) as typeof fetch;
  const call = makeCall(fetchImpl, clock);

  // Warm up (JIT, SDK lazy init, the tokenizer) with a few calls, then measure the idle baseline.
  for (let i = 0; i < 50; i++) {
    const p = call();
    while (clock.pendingTimers === 0 || arrived < i + 1) await nextTurn();
    await clock.advance(TTFT_MS + 10, 1);
    await p;
  }
  arrived = 0;
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
      call().then(
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
  // Hold the clock until every call has reached the simulator (bounded by wall time).
  const deadline = Date.now() + 120_000;
  while (arrived < N && Date.now() < deadline) await nextTurn();
  for (let i = 0; i < 5; i++) await nextTurn();
  const launchMs = performance.now() - started;
  gc();
  gc();
  const held = process.memoryUsage();
  const inFlightPeakRss = peakRssBytes();
  const snapshots = process.env.BENCH_SCALE_SNAPSHOT;
  if (snapshots) writeHeapSnapshot(join(snapshots, `${name}.heapsnapshot`));
  const inFlight = arrived - settled;

  // Release: 2 s of simulated time; every call must now finish.
  await clock.advance(TTFT_MS + 10, 1);
  const releaseDeadline = Date.now() + 120_000;
  while (settled < N && Date.now() < releaseDeadline) {
    await nextTurn();
    if (clock.pendingTimers > 0 && settled < N) await clock.advance(1_000, 1);
  }
  const totalWallMs = performance.now() - started;
  const peakRss = peakRssBytes();
  await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 1_000))]);
  return {
    inFlight,
    settled,
    succeeded,
    failed,
    pendingTimers: clock.pendingTimers,
    base,
    held,
    inFlightPeakRss,
    peakRss,
    launchMs,
    totalWallMs,
  };
}

const perRequestKb = (p: Phase, key: 'heapUsed' | 'rss') => (p.held[key] - p.base[key]) / 1024 / N;

const routed = await phase('router', (fetchImpl, clock) => {
  const router = benchRouter(singleOpenAIConfig(), fetchImpl, clock);
  return () => router.complete({ model: 'chat', messages, maxOutputTokens: 16 });
});
gc();
const afterRouted = process.memoryUsage();

const bare = await phase('bare', (fetchImpl) => {
  const client = new OpenAI({
    apiKey: BENCH_KEY,
    baseURL: 'http://simulator.local/v1',
    fetch: fetchImpl,
    maxRetries: 0,
  });
  return () => client.chat.completions.create({ model: 'gpt-4.1', messages, max_tokens: 16 });
});

const metrics = {
  requests: N,
  in_flight_at_peak: routed.inFlight,
  baseline_rss_mb: mib(routed.base.rss),
  peak_rss_mb: mib(routed.peakRss),
  in_flight_peak_rss_mb: mib(routed.inFlightPeakRss),
  held_heap_used_mb: mib(routed.held.heapUsed),
  rss_per_request_kb: perRequestKb(routed, 'rss'),
  heap_per_request_kb: perRequestKb(routed, 'heapUsed'),
  bare_sdk_heap_per_request_kb: perRequestKb(bare, 'heapUsed'),
  heap_per_request_ratio: perRequestKb(routed, 'heapUsed') / perRequestKb(bare, 'heapUsed'),
  after_heap_used_mb: mib(afterRouted.heapUsed),
  launch_ms: routed.launchMs,
  bare_sdk_launch_ms: bare.launchMs,
  total_wall_ms: routed.totalWallMs,
  settled: routed.settled,
  succeeded: routed.succeeded,
  failed: routed.failed,
  pending_timers_after: routed.pendingTimers,
};
console.log(
  `scale: ${routed.inFlight} in flight; RSS ${round(metrics.baseline_rss_mb, 0)} → peak ${round(metrics.peak_rss_mb, 0)} MB; heap held ${round(metrics.held_heap_used_mb, 0)} MB; ${round(metrics.heap_per_request_kb)} KB heap per in-flight request through the router vs ${round(metrics.bare_sdk_heap_per_request_kb)} KB per bare SDK call (×${round(metrics.heap_per_request_ratio)}); ${routed.settled}/${N} settled (${routed.succeeded} ok, ${routed.failed} failed), bare ${bare.settled}/${N} (${bare.succeeded} ok), ${routed.pendingTimers} timers left`,
);
emit({
  metrics,
  checks: {
    'every request was in flight at once': routed.inFlight === N,
    'no request lost or left unsettled': routed.settled === N,
    'every request succeeded': routed.succeeded === N,
    'no timer left on the clock': routed.pendingTimers === 0,
    'every bare SDK call was in flight at once and succeeded': bare.inFlight === N && bare.succeeded === N,
  },
});
