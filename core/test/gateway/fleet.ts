import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ChaosProxy, type FaultRule, startChaosProxy } from '../../src/faults/index.ts';

/**
 * Gateway replicas as separate processes (`switchyard gateway`, as a user runs it) in front of one
 * chaos proxy (the simulated providers, with faults) on loopback; with `state`, all of them share
 * one Redis. Each replica is stopped by its pid.
 */

const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');
export const KEYS = {
  tiny: 'sk-virtual-tiny-0001',
  outage: 'sk-virtual-outage-0002',
  free: 'sk-virtual-free-0003',
};

/** gpt-4.1 at $2 / $8 per million tokens (written out: the figures below follow from it). */
export function fleetConfig(proxyUrl: string, limits: { tiny: number; outage: number }): string {
  const d = (id: string, model: string) =>
    `  - { id: ${id}, provider: openai, model: ${model}, baseURL: "${proxyUrl}/v1", apiKey: { env: SIM_KEY } }`;
  return [
    'deployments:',
    d('spend', 'gpt-4.1'),
    d('flaky', 'gpt-4o'),
    d('limited', 'gpt-5-mini'),
    d('steady', 'gpt-4o-mini'),
    'routes:',
    '  - { name: spend, deployments: [spend] }',
    '  - { name: flaky, deployments: [flaky], fallbacks: [steady] }',
    '  - { name: limited, deployments: [limited], fallbacks: [steady] }',
    'prices:',
    '  gpt-4.1: { input: 2, output: 8 }',
    '  gpt-4o: { input: 2.5, output: 10 }',
    '  gpt-5-mini: { input: 0.25, output: 2 }',
    '  gpt-4o-mini: { input: 0.15, output: 0.6 }',
    'budgets:',
    `  - { tenant: tiny, period: day, limitUsd: ${limits.tiny} }`,
    `  - { tenant: outage, period: day, limitUsd: ${limits.outage} }`,
    'policies:',
    '  retry: { maxAttempts: 1, retryAfterCapMs: 1000 }',
    '  breaker: { consecutiveFailures: 3, openMs: 600000 }',
    '  hedge: { enabled: false }',
    'gateway:',
    '  keys:',
    '    - { name: tiny, key: { env: KEY_TINY }, tenant: tiny }',
    '    - { name: outage, key: { env: KEY_OUTAGE }, tenant: outage }',
    '    - { name: free, key: { env: KEY_FREE }, tenant: free }',
    '',
  ].join('\n');
}

/** The proxy's faults: `flaky` always fails with 500; `limited` answers its first call 429, Retry-After 120 s. */
export const FLEET_FAULTS: FaultRule[] = [
  { id: 'flaky-down', fault: 'server_error', target: { model: 'gpt-4o' } },
  {
    id: 'limited-429',
    fault: 'rate_limit',
    params: { retryAfterMs: 120_000 },
    target: { model: 'gpt-5-mini' },
    injection: { firstN: 1 },
  },
];

export interface Replica {
  url: string;
  child: ChildProcess;
  /** Its stdout: one JSON line per request, plus the state store's warnings. */
  log: string[];
}

export interface Fleet {
  proxy: ChaosProxy;
  replicas: Replica[];
  /** Requests the providers received for a model (faults included). */
  upstreamCalls(model: string): number;
  stop(): Promise<void>;
}

async function startReplica(
  configFile: string,
  state: { url: string; prefix: string } | undefined,
): Promise<Replica> {
  const args = [CLI, 'gateway', '--config', configFile, '--port', '0'];
  if (state) args.push('--state', state.url, '--state-prefix', state.prefix);
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      SIM_KEY: 'sk-test-not-a-real-key',
      KEY_TINY: KEYS.tiny,
      KEY_OUTAGE: KEYS.outage,
      KEY_FREE: KEYS.free,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    log.push(...lines.filter(Boolean));
  });
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${stderr}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}: ${stderr}`));
    });
  });
  return { url, child, log };
}

export async function startFleet(options: {
  replicas: number;
  state?: { url: string; prefix: string };
  limits: { tiny: number; outage: number };
}): Promise<Fleet> {
  const proxy = await startChaosProxy({ mode: 'simulate', seed: 15, rules: FLEET_FAULTS });
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-fleet-'));
  const configFile = join(dir, 'router.yaml');
  await writeFile(configFile, fleetConfig(proxy.url, options.limits));
  const replicas: Replica[] = [];
  const stop = async () => {
    for (const { child } of replicas) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    }
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // One after another: three Node processes starting at once on two loaded cores time out.
    for (let i = 0; i < options.replicas; i++) replicas.push(await startReplica(configFile, options.state));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    proxy,
    replicas,
    upstreamCalls: (model) => proxy.chaos.counters().requests.byTarget[`openai/${model}`] ?? 0,
    stop,
  };
}

/** One chat request through a replica, read to its end; streamed ones as SSE. */
export async function ask(
  replica: Replica,
  route: string,
  key: string,
  stream: boolean,
): Promise<{ status: number; servedBy: string | null; body: string }> {
  const response = await fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: route,
      messages: [{ role: 'user', content: 'Say hello.' }],
      max_tokens: 16,
      stream,
    }),
  });
  return {
    status: response.status,
    servedBy: response.headers.get('x-switchyard-served-by'),
    body: await response.text(),
  };
}

/**
 * Sums a metric over a replica's /metrics, for the series whose labels include `labels`; NaN when
 * no series matches (so a missing metric never passes as 0).
 */
export async function metricSum(
  replica: Replica,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(`${replica.url}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
