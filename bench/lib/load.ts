import { createRequire } from 'node:module';
import { nextTurn } from '@switchyard/core';
import { cpuMicros } from './proc.ts';
import { BENCH_KEY } from './sim.ts';
import { median } from './stats.ts';

/** The slice of autocannon's result these benchmarks read (autocannon ships no types). */
export interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout?: number;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: AutocannonOptions) => Promise<LoadResult>;

export const CHAT_BODY = JSON.stringify({
  model: 'gpt-4.1',
  messages: [{ role: 'user', content: 'Summarise TCP in one line.' }],
  max_tokens: 32,
});

/** Drives one target with autocannon (programmatic API); bounded by duration, loopback only. */
export function drive(
  url: string,
  headers: Record<string, string>,
  options: { connections: number; seconds: number; body?: string },
) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing a non-loopback target: ${url}`);
  return autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${BENCH_KEY}`,
      ...headers,
    },
    body: options.body ?? CHAT_BODY,
  });
}

/** One process under load: where to send, what, and its pid (for its CPU time). */
export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  body?: string;
  pid: number | undefined;
}

/** A target's figures over the rounds: medians of req/s, p50, p99 and CPU µs per request; totals of the rest. */
export interface LoadSummary {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  ok: number;
  cpu: number;
}

/**
 * Drives every target at the same concurrency: a one-second warm-up each (JIT, keep-alive pools),
 * then `rounds` rounds in rotating order, so no target always runs first or last on a busy machine.
 * CPU per request is the target process's own (from /proc), the steadiest figure under preemption.
 */
export async function rotateLoad<Name extends string>(
  targets: Record<Name, LoadTarget>,
  options: { connections: number; seconds: number; rounds: number },
): Promise<Record<Name, LoadSummary>> {
  const names = Object.keys(targets) as Name[];
  const results = new Map<Name, LoadResult[]>(names.map((n) => [n, []]));
  const cpu = new Map<Name, number[]>(names.map((n) => [n, []]));
  const load = (name: Name, seconds: number) => {
    const t = targets[name];
    return drive(t.url, t.headers, {
      connections: options.connections,
      seconds,
      ...(t.body ? { body: t.body } : {}),
    });
  };
  for (const name of names) await load(name, 1);
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      const before = cpuMicros(targets[name].pid);
      const result = await load(name, options.seconds);
      results.get(name)!.push(result);
      cpu.get(name)!.push((cpuMicros(targets[name].pid) - before) / Math.max(1, result['2xx']));
      await nextTurn();
    }
  }
  const summary = {} as Record<Name, LoadSummary>;
  for (const name of names) {
    const runs = results.get(name)!;
    summary[name] = {
      rps: median(runs.map((r) => r.requests.average)),
      p50: median(runs.map((r) => r.latency.p50)),
      p99: median(runs.map((r) => r.latency.p99)),
      errors: runs.reduce((s, r) => s + r.errors + r.timeouts + r.non2xx, 0),
      ok: runs.reduce((s, r) => s + r['2xx'], 0),
      cpu: median(cpu.get(name)!),
    };
  }
  return summary;
}

/** One line per target: `<bench> <name> N req/s  p50 … p99 …  CPU/req  (ok, errors)`. */
export function printLoad(bench: string, summaries: Record<string, LoadSummary>): void {
  for (const [name, a] of Object.entries(summaries)) {
    console.log(
      `${bench} ${name.padEnd(10)} ${Math.round(a.rps)} req/s  p50 ${a.p50} ms  p99 ${a.p99} ms  ${Math.round(a.cpu)} µs CPU/req  (${a.ok} ok, ${a.errors} errors)`,
    );
  }
}
