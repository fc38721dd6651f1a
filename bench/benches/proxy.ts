/**
 * Proxy mode against a peer gateway. One loopback upstream (bench/servers/upstream.ts: a node:http
 * server returning a canned completion) sits behind (a) the chaos proxy in forward mode, as
 * `switchyard serve` runs it, and (b) the Portkey gateway, each in its own process; autocannon drives
 * each (and the upstream alone: the floor) at the same concurrency, in rotating order.
 */
import { printLoad, rotateLoad } from '../lib/load.ts';
import { type Child, startNodeServer, startPortkey } from '../lib/proc.ts';
import { emit } from '../lib/result.ts';
import { round } from '../lib/stats.ts';

const CONNECTIONS = Number(process.env.BENCH_PROXY_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS ?? 2);

const here = (p: string) => new URL(p, import.meta.url).pathname;
const children: Child[] = [];
try {
  const upstream = await startNodeServer(here('../servers/upstream.ts'));
  children.push(upstream);
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
  const chaos = await startNodeServer(here('../servers/chaos-proxy.ts'), { UPSTREAM: upstreamOrigin });
  children.push(chaos);
  const portkey = await startPortkey();
  children.push(portkey);

  const {
    direct: d,
    switchyard: s,
    portkey: p,
  } = await rotateLoad(
    {
      direct: { url: `${upstreamOrigin}/v1/chat/completions`, headers: {}, pid: upstream.proc.pid },
      switchyard: {
        url: `http://127.0.0.1:${chaos.port}/v1/chat/completions`,
        headers: {},
        pid: chaos.proc.pid,
      },
      portkey: {
        url: 'http://127.0.0.1:8787/v1/chat/completions',
        headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstreamOrigin}/v1` },
        pid: portkey.proc.pid,
      },
    },
    { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS },
  );
  const metrics = {
    connections: CONNECTIONS,
    direct_rps: d.rps,
    direct_p50_ms: d.p50,
    direct_p99_ms: d.p99,
    switchyard_rps: s.rps,
    switchyard_p50_ms: s.p50,
    switchyard_p99_ms: s.p99,
    portkey_rps: p.rps,
    portkey_p50_ms: p.p50,
    portkey_p99_ms: p.p99,
    switchyard_added_p50_ms: s.p50 - d.p50,
    switchyard_added_p99_ms: s.p99 - d.p99,
    portkey_added_p50_ms: p.p50 - d.p50,
    portkey_added_p99_ms: p.p99 - d.p99,
    upstream_cpu_us_per_req: d.cpu,
    switchyard_cpu_us_per_req: s.cpu,
    portkey_cpu_us_per_req: p.cpu,
    throughput_ratio: s.rps / p.rps,
    cpu_ratio: p.cpu / s.cpu,
    added_p99_ratio: (s.p99 - d.p99) / Math.max(1e-9, p.p99 - d.p99),
  };
  printLoad('proxy', { direct: d, switchyard: s, portkey: p });
  console.log(
    `proxy: switchyard/portkey throughput ×${round(metrics.throughput_ratio)}, added p99 ${round(metrics.switchyard_added_p99_ms)} ms vs ${round(metrics.portkey_added_p99_ms)} ms`,
  );
  emit({
    metrics,
    checks: {
      'no errors through the upstream alone': d.errors === 0,
      'no errors through the chaos proxy': s.errors === 0,
      'no errors through portkey': p.errors === 0,
    },
  });
} finally {
  for (const child of children.reverse()) await child.stop();
}
