import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startGatewayStandIn } from '../../core/test/scenarios/gateway-stand-in.ts';
import { runCli } from './helpers.ts';

/**
 * `switchyard run --against URL` end to end: the real CLI in a child process grades gateways running
 * in this process (plain node:http stand-ins), through a chaos proxy on a port fixed in advance so
 * the gateways can be pointed at it before the run, as a user would configure theirs.
 */

const SCENARIO = `# A 503 window in which every second upstream call fails: one retry rides it out.
name: gateway-503
description: Grades a gateway through a 503 window.
seed: 3
router:
  deployments:
    - { id: openai/gpt-4.1, provider: openai, model: gpt-4.1 }
  routes:
    - { name: chat, deployments: [openai/gpt-4.1] }
simulator:
  latency: { '*': { ttftMedianMs: 2, ttftSigma: 0, tokensPerSecond: 4000, tokensPerSecondSd: 0 } }
load: { concurrency: 1, duration: 2s, requests: 300, streamShare: 0.5, maxOutputTokens: 24 }
faults:
  - { id: openai-503, fault: service_unavailable, target: { provider: openai }, everyNth: 2, from: 200ms, to: 1500ms }
hypotheses:
  - { id: survives, type: success_rate, atLeast: 0.99 }
  - { id: bounded, type: max_attempts_per_request, atMost: 2 }
`;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let dir: string;
let file: string;
const gateways: StandIn[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-against-'));
  file = join(dir, 'gateway-503.yaml');
  await writeFile(file, SCENARIO);
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await rm(dir, { recursive: true, force: true });
});

async function standIn(
  port: number,
  retries: number,
  more: Partial<Parameters<typeof startGatewayStandIn>[0]> = {},
): Promise<StandIn> {
  const g = await startGatewayStandIn({
    retries,
    upstream: () => `http://127.0.0.1:${port}/v1`,
    models: { chat: 'gpt-4.1' },
    ...more,
  });
  gateways.push(g);
  return g;
}

describe('switchyard run --against', () => {
  it('exits 0 for a gateway that rides out the 503 window, and says where to point it', async () => {
    const port = await freePort();
    const gateway = await standIn(port, 1);
    const out = join(dir, 'retrying');
    const result = await runCli([
      'run',
      file,
      '--against',
      gateway.url,
      '--proxy-port',
      String(port),
      '--out',
      out,
    ]);
    expect(result.stderr).toContain(
      `chaos proxy on http://127.0.0.1:${port}: point your gateway's upstreams at it`,
    );
    expect(result.stderr).toContain(`OpenAI     http://127.0.0.1:${port}/v1`);
    expect(result.stdout).toMatch(/gateway-503\s+✓ PASS\s+2\/2/);
    expect(result.code).toBe(0);
    const journal = JSON.parse(await readFile(join(out, 'gateway-503.journal.json'), 'utf8'));
    expect(journal.mode).toBe('against');
    expect(journal.verdict).toBe('passed');
    expect(journal.against.gateway).toBe(gateway.url);
    expect(journal.against.unattributed).toBe(0);
    expect(journal.requests.some((r: { attempts: unknown[] }) => r.attempts.length === 2)).toBe(true);
    // The other report formats render an --against journal too.
    expect(await readFile(join(out, 'gateway-503.html'), 'utf8')).toContain('against');
  }, 60_000);

  it('exits 1 for a naive gateway, naming the failed hypothesis (JSON on stdout)', async () => {
    const port = await freePort();
    const gateway = await standIn(port, 0);
    const result = await runCli([
      'run',
      file,
      '--against',
      gateway.url,
      '--proxy-port',
      String(port),
      '--json',
      '--out',
      join(dir, 'naive'),
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      verdict: string;
      scenarios: Array<{
        against: { upstreamCalls: number };
        hypotheses: Array<{ id: string; passed: boolean }>;
      }>;
    };
    expect(report.verdict).toBe('failed');
    expect(report.scenarios[0]?.hypotheses.find((h) => h.id === 'survives')?.passed).toBe(false);
    expect(report.scenarios[0]?.hypotheses.find((h) => h.id === 'bounded')?.passed).toBe(true);
    expect(report.scenarios[0]?.against.upstreamCalls).toBeGreaterThan(3);
  }, 60_000);

  it('exits 2 when the gateway sends nothing to the proxy, or cannot be reached', async () => {
    const port = await freePort();
    const miswired = await standIn(await freePort(), 0);
    const result = await runCli(['run', file, '--against', miswired.url, '--proxy-port', String(port)], {
      cwd: dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sent nothing to the chaos proxy');
    expect(result.stderr).toContain(`point its upstreams at http://127.0.0.1:${port}`);

    const unreachable = await runCli(['run', file, '--against', `http://127.0.0.1:${await freePort()}/v1`], {
      cwd: dir,
    });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain('cannot reach the gateway');
  }, 60_000);

  it('sends --header to the gateway (its virtual key), and never prints the value', async () => {
    const port = await freePort();
    const KEY = 'vk-secret-4f1c9e';
    const gateway = await standIn(port, 1, { requireHeader: { name: 'x-virtual-key', value: KEY } });
    const out = join(dir, 'virtual-key');
    const args = ['run', file, '--against', gateway.url, '--proxy-port', String(port), '--out', out];
    const keyed = await runCli([...args, '--header', `X-Virtual-Key:${KEY}`, '--header', 'x-trace:a:b']);
    expect(keyed.code).toBe(0);
    expect(keyed.stderr).toContain('with the header(s) x-virtual-key, x-trace');
    expect(`${keyed.stdout}${keyed.stderr}`).not.toContain(KEY);
    for (const ext of ['journal.json', 'md', 'html', 'junit.xml'])
      expect(await readFile(join(out, `gateway-503.${ext}`), 'utf8')).not.toContain(KEY);

    // Without it the gateway refuses, sends nothing upstream, and the run says so.
    const refused = await runCli(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('sent nothing to the chaos proxy (it answered 401 auth');
    expect(refused.stderr).toContain('missing virtual key');
    // A wrong key echoed back in the gateway's error is not printed either.
    const WRONG = 'vk-wrong-77a2d0';
    const wrong = await runCli([...args, '--header', `x-virtual-key:${WRONG}`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('virtual key [redacted] is not valid');
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(WRONG);
  }, 60_000);

  it('exits 2 when every upstream answer was a 404 (the gateway asks for models nobody serves)', async () => {
    const port = await freePort();
    const gateway = await standIn(port, 0, { models: { chat: 'gpt-4-typo' } });
    const result = await runCli(['run', file, '--against', gateway.url, '--proxy-port', String(port)], {
      cwd: dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('made to the chaos proxy was answered 404');
    expect(result.stderr).toContain('it asked for gpt-4-typo (openai)');
    expect(result.stderr).toContain("configure its models as the scenario's deployments are: openai gpt-4.1");
  }, 60_000);

  it('exits 2 on a bad --against URL or a misplaced option', async () => {
    const bad = await runCli(['run', file, '--against', 'localhost:4000'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--against needs the gateway's http(s) base URL");
    const stray = await runCli(['run', file, '--proxy-port', '9999'], { cwd: dir });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('only apply with --against');
    const strayHeader = await runCli(['run', file, '--header', 'x-a:b'], { cwd: dir });
    expect(strayHeader.code).toBe(2);
    expect(strayHeader.stderr).toContain('only apply with --against');
    const badHeader = await runCli(
      ['run', file, '--against', 'http://127.0.0.1:1/v1', '--header', 'novalue'],
      {
        cwd: dir,
      },
    );
    expect(badHeader.code).toBe(2);
    expect(badHeader.stderr).toContain('--header needs NAME:VALUE');
    const help = await runCli(['run', '--help']);
    expect(help.stdout).toContain('--against <url>');
    expect(help.stdout).toContain('x-switchyard-request-id');
  }, 60_000);
});
