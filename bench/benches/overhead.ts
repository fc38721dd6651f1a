/**
 * Router overhead, in-process: the same chat completion through (A) the official openai SDK called
 * directly and (B) the Router (retries, breaker, decision trace, OpenTelemetry spans to a real SDK
 * tracer), both against the in-process simulator with zero simulated latency. A and B alternate
 * request by request in one process after a warm-up, so drift (JIT, GC, other load) hits both.
 * Added time = percentile(B) - percentile(A).
 */
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { RealClock, Router } from '@switchyard/core';
import OpenAI from 'openai';
import { emit } from '../lib/result.ts';
import { BENCH_KEY, simulatorFetch, singleOpenAIConfig } from '../lib/sim.ts';
import { percentile, round } from '../lib/stats.ts';

const BATCH = Number(process.env.BENCH_OVERHEAD_BATCH ?? 250);
const BATCHES = Number(process.env.BENCH_OVERHEAD_BATCHES ?? 24);
const WARMUP = Number(process.env.BENCH_OVERHEAD_WARMUP ?? 2_000);

const clock = new RealClock();
const fetchImpl = simulatorFetch({ clock });
const messages = [{ role: 'user' as const, content: 'Summarise TCP in one line.' }];

const client = new OpenAI({
  apiKey: BENCH_KEY,
  baseURL: 'http://simulator.local/v1',
  fetch: fetchImpl,
  maxRetries: 0,
});
const direct = async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4.1', messages, max_tokens: 32 });
  if (!r.choices[0]) throw new Error('no choice');
};

// Tracing on: a real OpenTelemetry SDK tracer behind the BatchSpanProcessor that OpenTelemetry
// recommends for production (SimpleSpanProcessor, an export call per span, is meant for debugging; it
// added ~10 µs per request here). The exporter counts the spans and lets them go, as a network
// exporter does once a batch is sent: an in-memory exporter kept thousands of spans alive between
// resets, and the old-generation GC they caused was charged to the router.
let exportedSpans = 0;
const exporter: SpanExporter = {
  export(spans, done) {
    exportedSpans += spans.length;
    done({ code: 0 });
  },
  async shutdown() {},
};
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
const router = new Router({
  config: singleOpenAIConfig(),
  clock,
  fetch: fetchImpl,
  env: { BENCH_KEY },
  tracer: provider.getTracer('bench'),
});
let traces = 0;
router.onTrace(() => {
  traces++;
});
const routed = async () => {
  const r = await router.complete({ model: 'chat', messages, maxOutputTokens: 32 });
  if (!r.text) throw new Error('no text');
};

async function timed(
  fn: () => Promise<void>,
  into?: number[],
  cpu?: number[],
  mainThread?: number[],
): Promise<void> {
  const c = process.cpuUsage();
  const m = process.threadCpuUsage();
  const t = process.hrtime.bigint();
  await fn();
  into?.push(Number(process.hrtime.bigint() - t) / 1_000);
  if (cpu) {
    const used = process.cpuUsage(c);
    cpu.push(used.user + used.system);
  }
  if (mainThread) {
    const used = process.threadCpuUsage(m);
    mainThread.push(used.user + used.system);
  }
}

for (let i = 0; i < WARMUP; i++) {
  await timed(direct);
  await timed(routed);
}

// Interleaved at the request level (A B B A A B …): a burst of machine noise (other test runs on
// this 2-core box, a GC) lands on both sides alike instead of on one batch.
const a: number[] = [];
const b: number[] = [];
const aCpu: number[] = [];
const bCpu: number[] = [];
const aMain: number[] = [];
const bMain: number[] = [];
for (let i = 0; i < BATCHES * BATCH; i++) {
  if (i % 2 === 0) {
    await timed(direct, a, aCpu, aMain);
    await timed(routed, b, bCpu, bMain);
  } else {
    await timed(routed, b, bCpu, bMain);
    await timed(direct, a, aCpu, aMain);
  }
}

const m = {
  direct_p50_us: percentile(a, 50),
  direct_p99_us: percentile(a, 99),
  router_p50_us: percentile(b, 50),
  router_p99_us: percentile(b, 99),
};
const metrics = {
  ...m,
  added_p50_us: m.router_p50_us - m.direct_p50_us,
  added_p99_us: m.router_p99_us - m.direct_p99_us,
  ratio_p50: m.router_p50_us / m.direct_p50_us,
  // CPU time is not inflated by preemption: the steadiest view of what the router costs.
  direct_cpu_mean_us: aCpu.reduce((s, v) => s + v, 0) / aCpu.length,
  router_cpu_mean_us: bCpu.reduce((s, v) => s + v, 0) / bCpu.length,
  added_cpu_mean_us: (bCpu.reduce((s, v) => s + v, 0) - aCpu.reduce((s, v) => s + v, 0)) / bCpu.length,
  // The tail in the main thread's CPU time: what the requests themselves cost at their slowest (the
  // scavenges they trigger included), which other work on the machine cannot stretch the way it
  // stretches wall-clock percentiles under load. The process's CPU (above) also counts the compiler's
  // and the GC's helper threads, which run beside the request rather than in it.
  direct_main_cpu_p99_us: percentile(aMain, 99),
  router_main_cpu_p99_us: percentile(bMain, 99),
  added_main_cpu_p99_us: percentile(bMain, 99) - percentile(aMain, 99),
  added_main_cpu_p50_us: percentile(bMain, 50) - percentile(aMain, 50),
  requests_each: a.length,
};
console.log(
  `overhead: direct p50 ${round(m.direct_p50_us)} µs p99 ${round(m.direct_p99_us)} µs | router p50 ${round(m.router_p50_us)} µs p99 ${round(m.router_p99_us)} µs | added p50 ${round(metrics.added_p50_us)} µs p99 ${round(metrics.added_p99_us)} µs | added CPU ${round(metrics.added_cpu_mean_us)} µs/req; main thread's CPU added p50 ${round(metrics.added_main_cpu_p50_us)} µs p99 ${round(metrics.added_main_cpu_p99_us)} µs`,
);
await provider.forceFlush();
emit({
  metrics,
  checks: {
    'every routed request produced a trace': traces === WARMUP + BATCH * BATCHES,
    // One request span and one attempt span per request, none dropped by the batch processor.
    'every routed request exported its two spans': exportedSpans === 2 * (WARMUP + BATCH * BATCHES),
  },
});
await provider.shutdown();
