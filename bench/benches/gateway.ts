/**
 * Gateway mode against a peer gateway: Switchyard's gateway (`switchyard gateway --config`, the CLI
 * as users run it) and the Portkey gateway, both routing with a fallback config (a primary and a
 * backup deployment) in front of the same loopback upstream (bench/servers/upstream.ts), each in its
 * own process. Unlike the proxy bench (a pipe against a router), both sides here parse the request,
 * choose a target by their config and build the answer.
 *
 * 1. Throughput and latency: autocannon drives the upstream alone (the floor), Switchyard and Portkey
 *    at the same concurrency, non-streamed, in rotating order: req/s, p50/p99 added over the floor,
 *    CPU per request of each gateway process (from /proc, steady under preemption).
 * 2. Memory: 1,000 concurrent streams (paced by the upstream, seconds long) through each gateway; the
 *    gateway's RSS when all are in flight, and whether every stream ended with [DONE].
 *
 * Portkey 1.15.2's streaming path fails on current @hono/node-server (its SSE responses end early):
 * the root package.json pins @hono/node-server to 1.13.8 (and @hono/node-ws, Portkey's other user
 * of it, to 1.2.0, the last that accepts it) as devDependencies. The npm override for
 * @portkey-ai/gateway alone stopped taking effect once @hono/node-ws 1.3 asked for node-server
 * ≥ 1.19.11: the lockfile went back to 1.19.19 and every stream through Portkey failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadTarget, printLoad, rotateLoad } from '../lib/load.ts';
import { type Child, rssOf, startNodeServer, startPortkey, startSwitchyardGateway } from '../lib/proc.ts';
import { emit } from '../lib/result.ts';
import { BENCH_KEY } from '../lib/sim.ts';
import { mib, round } from '../lib/stats.ts';

const CONNECTIONS = Number(process.env.BENCH_GATEWAY_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 2);
const STREAMS = Number(process.env.BENCH_GATEWAY_STREAMS ?? 1_000);
/**
 * Each upstream stream: 300 chunks 100 ms apart (30 s), long enough to hold 1,000 open at once even
 * when opening them takes a loaded 2-core machine 10-20 s.
 */
const STREAM_CHUNKS = 300;
const STREAM_INTERVAL_MS = 100;

const here = (p: string) => new URL(p, import.meta.url).pathname;
const ask = (model: string, stream = false) =>
  JSON.stringify({
    model,
    messages: [{ role: 'user', content: 'Summarise TCP in one line.' }],
    max_tokens: 64,
    ...(stream ? { stream: true } : {}),
  });

/** A load target that can also be asked for a stream. */
interface Target extends LoadTarget {
  streamBody: string;
}

/**
 * Opens `count` streaming requests at once and reads each to its end. Samples the gateway's RSS while
 * they run and keeps the sample taken with the most streams open (all of them, when the upstream's
 * streams outlast the opening). Loopback only; bounded by the upstream's stream length.
 */
async function concurrentStreams(target: Target, count: number) {
  if (!target.url.startsWith('http://127.0.0.1:'))
    throw new Error(`refusing a non-loopback target: ${target.url}`);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  let open = 0;
  let mostOpen = 0;
  let rssAtMost = 0;
  let done = 0;
  let failed = 0;
  const sampler = setInterval(() => {
    const { rss } = rssOf(target.pid);
    if (open > mostOpen || (open === mostOpen && rss > rssAtMost)) {
      mostOpen = open;
      rssAtMost = rss;
    }
  }, 50);
  const one = () =>
    new Promise<void>((resolve) => {
      let text = '';
      let started = false;
      const req = request(
        target.url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${BENCH_KEY}`,
            ...target.headers,
          },
          timeout: 60_000,
        },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (part: string) => {
            if (!started) {
              started = true;
              open++;
            }
            text += part;
          });
          res.on('end', () => {
            if (started) open--;
            if (res.statusCode === 200 && text.includes('data: [DONE]')) done++;
            else failed++;
            resolve();
          });
          res.on('error', () => {
            if (started) open--;
            failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(target.streamBody);
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, one));
  clearInterval(sampler);
  agent.destroy();
  return { mostOpen, rssMb: mib(rssAtMost), done, failed, seconds: (performance.now() - started) / 1000 };
}

const children: Child[] = [];
const dir = await mkdtemp(join(tmpdir(), 'switchyard-gateway-bench-'));
try {
  const upstream = await startNodeServer(here('../servers/upstream.ts'), {
    STREAM_CHUNKS: String(STREAM_CHUNKS),
    STREAM_INTERVAL_MS: String(STREAM_INTERVAL_MS),
  });
  children.push(upstream);
  const origin = `http://127.0.0.1:${upstream.port}`;

  // The same fallback configuration on both sides: primary, then backup, on the same upstream.
  const config = join(dir, 'gateway.yaml');
  await writeFile(
    config,
    [
      'deployments:',
      `  - { id: primary, provider: openai, model: gpt-4.1, baseURL: "${origin}/v1", apiKey: { env: BENCH_KEY } }`,
      `  - { id: backup, provider: openai, model: gpt-4.1, baseURL: "${origin}/v1", apiKey: { env: BENCH_KEY } }`,
      'routes:',
      '  - { name: chat, deployments: [primary], fallbacks: [backup] }',
      'policies:',
      '  retry: { maxAttempts: 2 }',
      'gateway: { drainMs: 1000 }',
    ].join('\n'),
  );
  const switchyard = await startSwitchyardGateway(config, { BENCH_KEY });
  children.push(switchyard);
  const portkey = await startPortkey();
  children.push(portkey);
  const portkeyTarget = { provider: 'openai', api_key: BENCH_KEY, custom_host: `${origin}/v1` };
  const portkeyConfig = JSON.stringify({
    strategy: { mode: 'fallback' },
    targets: [portkeyTarget, portkeyTarget],
  });

  const targets: Record<'direct' | 'switchyard' | 'portkey', Target> = {
    direct: {
      url: `${origin}/v1/chat/completions`,
      headers: {},
      body: ask('gpt-4.1'),
      streamBody: ask('gpt-4.1', true),
      pid: upstream.proc.pid,
    },
    switchyard: {
      url: `http://127.0.0.1:${switchyard.port}/v1/chat/completions`,
      headers: {},
      body: ask('chat'),
      streamBody: ask('chat', true),
      pid: switchyard.proc.pid,
    },
    portkey: {
      url: 'http://127.0.0.1:8787/v1/chat/completions',
      headers: { 'x-portkey-config': portkeyConfig },
      body: ask('gpt-4.1'),
      streamBody: ask('gpt-4.1', true),
      pid: portkey.proc.pid,
    },
  };
  const {
    direct: d,
    switchyard: s,
    portkey: p,
  } = await rotateLoad(targets, {
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
  });

  // 1,000 concurrent streams through each gateway, one gateway at a time.
  const idle = { switchyard: mib(rssOf(switchyard.proc.pid).rss), portkey: mib(rssOf(portkey.proc.pid).rss) };
  const streams = {
    switchyard: await concurrentStreams(targets.switchyard, STREAMS),
    portkey: await concurrentStreams(targets.portkey, STREAMS),
  };

  const metrics = {
    connections: CONNECTIONS,
    direct_rps: d.rps,
    direct_p50_ms: d.p50,
    direct_p99_ms: d.p99,
    switchyard_rps: s.rps,
    switchyard_added_p50_ms: s.p50 - d.p50,
    switchyard_added_p99_ms: s.p99 - d.p99,
    switchyard_cpu_us_per_req: s.cpu,
    portkey_rps: p.rps,
    portkey_added_p50_ms: p.p50 - d.p50,
    portkey_added_p99_ms: p.p99 - d.p99,
    portkey_cpu_us_per_req: p.cpu,
    throughput_ratio: s.rps / p.rps,
    added_p99_ratio: (s.p99 - d.p99) / Math.max(1e-9, p.p99 - d.p99),
    cpu_ratio: p.cpu / s.cpu,
    switchyard_idle_rss_mb: idle.switchyard,
    switchyard_rss_at_streams_mb: streams.switchyard.rssMb,
    switchyard_most_streams_open: streams.switchyard.mostOpen,
    portkey_idle_rss_mb: idle.portkey,
    portkey_rss_at_streams_mb: streams.portkey.rssMb,
    portkey_most_streams_open: streams.portkey.mostOpen,
  };
  printLoad('gateway', { direct: d, switchyard: s, portkey: p });
  for (const name of ['switchyard', 'portkey'] as const) {
    const r = streams[name];
    console.log(
      `gateway ${name.padEnd(10)} ${STREAMS} streams: ${r.mostOpen} open at once, RSS ${round(r.rssMb, 0)} MB (idle ${round(idle[name], 0)} MB), ${r.done} done, ${r.failed} failed, ${round(r.seconds, 1)} s`,
    );
  }
  console.log(
    `gateway: switchyard/portkey throughput ×${round(metrics.throughput_ratio)}, added p99 ${round(metrics.switchyard_added_p99_ms)} ms vs ${round(metrics.portkey_added_p99_ms)} ms`,
  );
  emit({
    metrics,
    checks: {
      'no errors through the upstream alone': d.errors === 0,
      'no errors through the switchyard gateway': s.errors === 0,
      'no errors through portkey': p.errors === 0,
      [`switchyard: all ${STREAMS} streams open at once, every one ended with [DONE]`]:
        streams.switchyard.mostOpen === STREAMS && streams.switchyard.done === STREAMS,
      [`portkey: all ${STREAMS} streams open at once, every one ended with [DONE]`]:
        streams.portkey.mostOpen === STREAMS && streams.portkey.done === STREAMS,
    },
  });
} finally {
  for (const child of children.reverse()) await child.stop();
  await rm(dir, { recursive: true, force: true });
}
