/**
 * `npm run bench [names…] [--runs N]`: builds @switchyard/core, then runs each benchmark N times (default 3), each run in a fresh
 * `node --expose-gc` process (memory figures start clean; one run cannot warm the next), prints the
 * median of every figure with its spread over the runs ((max - min) / median: how noisy this 2-core
 * machine was), and saves everything to reports/bench/<name>.json. Exits 1 if any run's invariant
 * check failed (a lost request, an error through a proxy…); targets are printed, not asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './lib/result.ts';
import { median, round, spreadPct } from './lib/stats.ts';

interface Target {
  label: string;
  metric: string;
  ok: (value: number) => boolean;
}

const BENCHES: Record<string, { file: string; timeoutMs: number; targets: Target[] }> = {
  overhead: {
    file: 'benches/overhead.ts',
    timeoutMs: 300_000,
    targets: [{ label: 'added p99 ≤ 100 µs', metric: 'added_p99_us', ok: (v) => v <= 100 }],
  },
  proxy: {
    file: 'benches/proxy.ts',
    timeoutMs: 300_000,
    targets: [
      { label: 'throughput ≥ 2× Portkey', metric: 'throughput_ratio', ok: (v) => v >= 2 },
      { label: 'added p99 ≤ ½ Portkey', metric: 'added_p99_ratio', ok: (v) => v <= 0.5 },
    ],
  },
  gateway: {
    file: 'benches/gateway.ts',
    timeoutMs: 300_000,
    targets: [
      { label: 'throughput ≥ 3× Portkey', metric: 'throughput_ratio', ok: (v) => v >= 3 },
      { label: 'added p99 ≤ ¼ Portkey', metric: 'added_p99_ratio', ok: (v) => v <= 0.25 },
    ],
  },
  'chaos-library': {
    file: 'benches/chaos-library.ts',
    timeoutMs: 600_000,
    targets: [{ label: '≥ 100× faster than simulated time', metric: 'speedup', ok: (v) => v >= 100 }],
  },
  scale: {
    file: 'benches/scale.ts',
    timeoutMs: 300_000,
    targets: [
      { label: '≤ 200 MB RSS at 10k in flight', metric: 'peak_rss_mb', ok: (v) => v <= 200 },
      {
        label: 'heap per in-flight request ≤ 1.5× a bare SDK call',
        metric: 'heap_per_request_ratio',
        ok: (v) => v <= 1.5,
      },
    ],
  },
  startup: {
    file: 'benches/startup.ts',
    timeoutMs: 300_000,
    targets: [
      {
        label: 'idle RSS ≤ 100 MB (router + one OpenAI deployment)',
        metric: 'idle_rss_mb',
        ok: (v) => v <= 100,
      },
    ],
  },
  fanout: { file: 'benches/fanout.ts', timeoutMs: 300_000, targets: [] },
  redis: {
    file: 'benches/redis.ts',
    timeoutMs: 300_000,
    targets: [{ label: '≤ 2 round trips per request', metric: 'round_trips_per_request', ok: (v) => v <= 2 }],
  },
  budgets: {
    file: 'benches/budgets.ts',
    timeoutMs: 600_000,
    targets: [{ label: 'budgets cost ≤ 1.25× the time', metric: 'budgets_ratio', ok: (v) => v <= 1.25 }],
  },
};

const args = process.argv.slice(2);
const runsIndex = args.indexOf('--runs');
const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 3;
const names = args.filter((a, i) => !a.startsWith('--') && (runsIndex < 0 || i !== runsIndex + 1));
const selected = names.length > 0 ? names : Object.keys(BENCHES);
for (const name of selected) if (!BENCHES[name]) throw new Error(`unknown benchmark "${name}"`);

// The benchmarks measure what users install: @switchyard/core compiled to JavaScript (its exports
// resolve to dist/ outside the repo's tooling), so it is built first.
const built = spawnSync('npm', ['run', 'build', '--silent', '-w', 'core'], {
  cwd: new URL('..', import.meta.url).pathname,
  stdio: 'inherit',
});
if (built.status !== 0)
  throw new Error(`building @switchyard/core failed (exit ${built.status ?? built.signal})`);

const outDir = new URL('../reports/bench/', import.meta.url).pathname;
mkdirSync(outDir, { recursive: true });
const scratch = join(tmpdir(), `switchyard-bench-${process.pid}`);
mkdirSync(scratch, { recursive: true });
let failedChecks = 0;

try {
  for (const name of selected) {
    const bench = BENCHES[name]!;
    const results: BenchResult[] = [];
    console.log(`\n▶ ${name} (${runs} run${runs === 1 ? '' : 's'})`);
    for (let run = 1; run <= runs; run++) {
      const out = join(scratch, `${name}-${run}.json`);
      rmSync(out, { force: true });
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', new URL(bench.file, import.meta.url).pathname],
        {
          env: { ...process.env, BENCH_OUT: out },
          stdio: ['ignore', 'inherit', 'inherit'],
          timeout: bench.timeoutMs,
        },
      );
      if (child.status !== 0)
        throw new Error(`${name} run ${run} failed (exit ${child.status ?? child.signal})`);
      results.push(JSON.parse(readFileSync(out, 'utf8')) as BenchResult);
    }
    const keys = Object.keys(results[0]!.metrics);
    const summary: Record<
      string,
      { median: number; min: number; max: number; spreadPct: number; runs: number[] }
    > = {};
    for (const key of keys) {
      const values = results.map((r) => r.metrics[key]!);
      summary[key] = {
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        spreadPct: spreadPct(values),
        runs: values,
      };
    }
    const checks: Record<string, boolean> = {};
    for (const r of results) {
      for (const [check, ok] of Object.entries(r.checks)) checks[check] = (checks[check] ?? true) && ok;
    }
    const targets = bench.targets.map((t) => ({
      target: t.label,
      metric: t.metric,
      median: summary[t.metric]!.median,
      met: t.ok(summary[t.metric]!.median),
    }));
    console.log(
      `\n  ${'figure'.padEnd(28)} ${'median'.padStart(12)} ${'min'.padStart(12)} ${'max'.padStart(12)}  spread`,
    );
    for (const [key, s] of Object.entries(summary)) {
      console.log(
        `  ${key.padEnd(28)} ${String(round(s.median)).padStart(12)} ${String(round(s.min)).padStart(12)} ${String(round(s.max)).padStart(12)}  ${round(s.spreadPct, 0)}%`,
      );
    }
    for (const t of targets) console.log(`  target ${t.met ? '✓' : '✗'} ${t.target}: ${round(t.median, 3)}`);
    for (const [check, ok] of Object.entries(checks)) {
      console.log(`  check  ${ok ? '✓' : '✗'} ${check}`);
      if (!ok) failedChecks++;
    }
    writeFileSync(
      join(outDir, `${name}.json`),
      `${JSON.stringify(
        {
          benchmark: name,
          date: new Date().toISOString(),
          node: process.versions.node,
          runs,
          summary,
          targets,
          checks,
          notes: results.map((r) => r.notes).filter(Boolean),
        },
        null,
        2,
      )}\n`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failedChecks > 0) {
  console.error(`\n${failedChecks} check(s) failed`);
  process.exitCode = 1;
}
