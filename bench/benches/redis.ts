/**
 * The shared state store (issue 15), side by side in one run:
 *
 * 1. Router overhead, in-process: the same budgeted chat completion through a Router over a
 *    MemoryStore and through one over a RedisStore (a private redis-server on loopback, in memory
 *    only unless BENCH_REDIS_PERSISTENCE says otherwise), against the
 *    in-process simulator with zero latency, alternating request by request after a warm-up. Added
 *    µs per request = percentile(Redis) - percentile(Memory); round trips per request = the store's
 *    calls / requests (target ≤ 2: the gate and the settle).
 * 2. Replicas: `switchyard gateway --state redis://…` (the CLI, as users run it) in front of the
 *    loopback upstream (bench/servers/upstream.ts), one replica against three sharing the Redis,
 *    non-streamed, the same total connections: req/s of three against one. On this 2-core machine
 *    three Node processes share the same two cores (and Redis and the load generator with them),
 *    so the ratio measures contention as much as scaling.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectRedisStore,
  MemoryStore,
  RealClock,
  Router,
  type RouterConfigInput,
  type StateStore,
  startLocalRedis,
} from '@switchyard/core';
import { drive } from '../lib/load.ts';
import { type Child, cpuMicros, startNodeServer, startSwitchyardGateway } from '../lib/proc.ts';
import { emit } from '../lib/result.ts';
import { BENCH_KEY, simulatorFetch, singleOpenAIConfig } from '../lib/sim.ts';
import { percentile, round } from '../lib/stats.ts';

const REQUESTS = Number(process.env.BENCH_REDIS_REQUESTS ?? 2_000);
const WARMUP = Number(process.env.BENCH_REDIS_WARMUP ?? 500);
const CONNECTIONS = Number(process.env.BENCH_REDIS_CONNECTIONS ?? 30);
const SECONDS = Number(process.env.BENCH_REDIS_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_REDIS_ROUNDS ?? 2);
/** Redis's append-only file: 'none' by default (a write to this VM's disk cost ~2 ms per round trip). */
const BENCH_PERSISTENCE = (process.env.BENCH_REDIS_PERSISTENCE ?? 'none') as 'none' | 'everysec' | 'always';
const here = (p: string) => new URL(p, import.meta.url).pathname;
const messages = [{ role: 'user' as const, content: 'Summarise TCP in one line.' }];

/** A budget far away: every request reserves and settles (the full gate and settle) and none is refused. */
const budgeted: RouterConfigInput = {
  ...singleOpenAIConfig(),
  prices: { 'gpt-4.1': { input: 2, output: 8 } },
  budgets: [{ tenant: '*', period: 'hour', limitUsd: 1_000_000 }],
};

const redis = await startLocalRedis({ persistence: BENCH_PERSISTENCE });
const children: Child[] = [];
const dir = await mkdtemp(join(tmpdir(), 'switchyard-redis-bench-'));
try {
  // 1. In-process overhead.
  const clock = new RealClock();
  const fetchImpl = simulatorFetch({ clock });
  const redisStore = await connectRedisStore({ url: redis.url, clock, prefix: 'bench:' });
  const router = (store: StateStore) =>
    new Router({ config: budgeted, clock, store, fetch: fetchImpl, env: { BENCH_KEY } });
  const memoryRouter = router(new MemoryStore(clock));
  const redisRouter = router(redisStore);
  let redisCharged = 0;
  redisRouter.onTrace((trace) => {
    if (trace.tenant === 'acme') redisCharged += trace.costUsd;
  });
  const one = async (r: Router) => {
    const started = performance.now();
    await r.complete({ model: 'chat', messages, maxOutputTokens: 32, tenant: 'acme' });
    return (performance.now() - started) * 1000;
  };
  for (let i = 0; i < WARMUP; i++) {
    await one(memoryRouter);
    await one(redisRouter);
  }
  const memoryUs: number[] = [];
  const redisUs: number[] = [];
  const callsBefore = redisStore.calls;
  for (let i = 0; i < REQUESTS; i++) {
    memoryUs.push(await one(memoryRouter));
    redisUs.push(await one(redisRouter));
  }
  const roundTrips = (redisStore.calls - callsBefore) / REQUESTS;
  const [redisSnapshot] = await redisRouter.budgets.snapshot('acme');
  await redisStore.close();
  const p = (values: number[], q: number) => percentile(values, q);
  console.log(
    `redis: in-process p50 memory ${round(p(memoryUs, 50), 0)} µs, redis ${round(p(redisUs, 50), 0)} µs; ${roundTrips} round trips per request`,
  );

  // 2. One replica against three, sharing the Redis.
  const upstream = await startNodeServer(here('../servers/upstream.ts'));
  children.push(upstream);
  const config = join(dir, 'gateway.yaml');
  await writeFile(
    config,
    [
      'deployments:',
      `  - { id: primary, provider: openai, model: gpt-4.1, baseURL: "http://127.0.0.1:${upstream.port}/v1", apiKey: { env: BENCH_KEY } }`,
      'routes:',
      '  - { name: chat, deployments: [primary] }',
      'prices: { gpt-4.1: { input: 2, output: 8 } }',
      "budgets: [{ tenant: '*', period: hour, limitUsd: 1000000 }]",
      'gateway: { drainMs: 1000 }',
    ].join('\n'),
  );
  const replicas: Child[] = [];
  for (let i = 0; i < 3; i++) {
    const child = await startSwitchyardGateway(config, { BENCH_KEY }, 60_000, [
      '--state',
      redis.url,
      '--state-prefix',
      'bench-fleet:',
    ]);
    replicas.push(child);
    children.push(child);
  }
  const body = JSON.stringify({ model: 'chat', messages, max_tokens: 32 });
  const load = async (targets: Child[], seconds: number) => {
    const per = Math.max(1, Math.round(CONNECTIONS / targets.length));
    const cpuBefore = targets.map((t) => cpuMicros(t.proc.pid));
    const results = await Promise.all(
      targets.map((t) =>
        drive(`http://127.0.0.1:${t.port}/v1/chat/completions`, {}, { connections: per, seconds, body }),
      ),
    );
    const ok = results.reduce((s, r) => s + r['2xx'], 0);
    const cpu = targets.reduce((s, t, i) => s + cpuMicros(t.proc.pid) - cpuBefore[i]!, 0);
    return {
      rps: results.reduce((s, r) => s + r.requests.average, 0),
      errors: results.reduce((s, r) => s + r.errors + r.timeouts + r.non2xx, 0),
      cpuPerRequest: cpu / Math.max(1, ok),
    };
  };
  await load(replicas, 1);
  const single: number[] = [];
  const triple: number[] = [];
  const cpuSingle: number[] = [];
  const cpuTriple: number[] = [];
  let errors = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // Rotating order: neither setup always runs first on a busy machine.
    for (const which of r % 2 === 0 ? ['one', 'three'] : ['three', 'one']) {
      const result = await load(which === 'one' ? replicas.slice(0, 1) : replicas, SECONDS);
      (which === 'one' ? single : triple).push(result.rps);
      (which === 'one' ? cpuSingle : cpuTriple).push(result.cpuPerRequest);
      errors += result.errors;
      console.log(`redis: round ${r + 1}: ${which} replica(s) ${Math.round(result.rps)} req/s`);
    }
  }
  const med = (values: number[]) => percentile(values, 50);

  emit({
    metrics: {
      memory_p50_us: round(p(memoryUs, 50), 0),
      redis_p50_us: round(p(redisUs, 50), 0),
      added_p50_us: round(p(redisUs, 50) - p(memoryUs, 50), 0),
      added_p99_us: round(p(redisUs, 99) - p(memoryUs, 99), 0),
      round_trips_per_request: round(roundTrips, 2),
      one_replica_rps: round(med(single), 0),
      three_replicas_rps: round(med(triple), 0),
      replicas_ratio: round(med(triple) / med(single), 2),
      one_replica_cpu_us_per_request: round(med(cpuSingle), 0),
      three_replicas_cpu_us_per_request: round(med(cpuTriple), 0),
    },
    checks: {
      'the Redis ledger charged what the requests cost and holds nothing': Boolean(
        redisSnapshot &&
          redisSnapshot.reservedUsd === 0 &&
          Math.abs(redisSnapshot.spentUsd - redisCharged) < 1e-6,
      ),
      'no error through the replicas': errors === 0,
    },
  });
} finally {
  for (const child of children) await child.stop();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}
