import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers.ts';

/**
 * A real Prometheus server (Debian's `prometheus` package; .ci/run installs it) scrapes the gateway's
 * /metrics on loopback, and one series is read back through Prometheus's HTTP API. Without the
 * binary the test is skipped, unless SWITCHYARD_REQUIRE_PROMETHEUS=1 (as in CI), where that fails.
 */
function prometheusBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const binary = prometheusBinary();
const required = process.env.SWITCHYARD_REQUIRE_PROMETHEUS === '1';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let prometheus: ChildProcess | undefined;
let dir: string | undefined;
let t: TestGateway | undefined;
afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a real Prometheus server', () => {
  it('is installed where it is required', () => {
    if (required) expect(binary, 'prometheus is not on PATH (apt-get install prometheus)').toBeDefined();
  });

  it.skipIf(!binary)(
    'scrapes /metrics and answers a query for the gateway’s request counter',
    async () => {
      t = await startTestGateway();
      const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      await openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
      for await (const _ of await openai.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      }));

      dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'));
      const port = await freePort();
      await writeFile(
        join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          'scrape_configs:',
          '  - job_name: switchyard-gateway',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${t.gateway.port}']`,
        ].join('\n'),
      );
      let output = '';
      prometheus = spawn(
        binary!,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.stdout!.on('data', (chunk) => {
        output += chunk;
      });
      prometheus.stderr!.on('data', (chunk) => {
        output += chunk;
      });
      const api = `http://127.0.0.1:${port}`;
      try {
        await waitFor(
          'prometheus to be ready',
          async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined),
          30_000,
        );
        const query = encodeURIComponent(
          'sum(switchyard_gateway_requests_total{route="chat",deployment="primary",outcome="success"})',
        );
        const value = await waitFor(
          'the series to be scraped',
          async () => {
            const body = (await (await fetch(`${api}/api/v1/query?query=${query}`)).json()) as {
              status: string;
              data: { result: Array<{ value: [number, string] }> };
            };
            return body.data.result[0]?.value[1];
          },
          30_000,
        );
        expect(Number(value)).toBe(2);
        const targets = (await (await fetch(`${api}/api/v1/targets`)).json()) as {
          data: { activeTargets: Array<{ health: string }> };
        };
        expect(targets.data.activeTargets.map((target) => target.health)).toEqual(['up']);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nprometheus output:\n${output.slice(-3_000)}`);
      }
    },
    90_000,
  );
});
