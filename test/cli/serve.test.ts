import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from './helpers.ts';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts `serve` and resolves with its URL once it prints the listening line. */
function startServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; output: () => string; errors: () => string }> {
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolveUrl, reject) => {
    child!.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolveUrl({ url: match[1]!, output: () => stdout, errors: () => stderr });
    });
    child!.on('error', reject);
    child!.on('close', (code) => reject(new Error(`serve exited early with ${code}: ${stdout}`)));
  });
}

const counters = (url: string, token?: string) =>
  fetch(`${url}/__switchyard/counters`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

const chat = (url: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test-not-a-real-key', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 16,
    }),
  });

describe('switchyard serve', () => {
  it('serves the simulated providers on a free loopback port and stops on SIGTERM', async () => {
    const { url, output } = await startServe([]);
    const response = await chat(url);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
    const anthropic = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'sk-ant-test',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-6',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(anthropic.status).toBe(200);
    const closed = new Promise<number | null>((r) => child!.on('close', r));
    child!.kill('SIGTERM');
    expect(await closed).toBe(0);
    expect(output()).toContain('stopped');
  });

  it('applies the fault rules of --config', async () => {
    const { url } = await startServe(['--config', 'test/cli/fixtures/serve.yaml']);
    const first = await chat(url);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    await first.body?.cancel();
    expect((await chat(url)).status).toBe(200);
  });

  it('listens on 4747 by default, not Portkey’s 8787', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.stdout).toContain('(default: 4747)');
    expect(help.stdout).not.toContain('8787');
  });

  it('what GET /__switchyard/rules answers is a config file for another serve', async () => {
    const first = await startServe([
      '--config',
      'test/cli/fixtures/serve.yaml',
      '--admin-token',
      'rules-token',
    ]);
    const listed = await (
      await fetch(`${first.url}/__switchyard/rules`, { headers: { authorization: 'Bearer rules-token' } })
    ).text();
    child!.kill('SIGKILL');
    const file = join(tmpdir(), `switchyard-serve-rules-${process.pid}.json`);
    await writeFile(file, listed);
    const { url } = await startServe(['--config', file]);
    const limited = await chat(url);
    expect(limited.status).toBe(429);
    await limited.body?.cancel();
    expect((await chat(url)).status).toBe(200);
  });

  it('--cors lets a browser origin call it; without it no CORS headers', async () => {
    const preflight = (url: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      });
    const plain = await startServe([]);
    expect((await preflight(plain.url)).headers.get('access-control-allow-origin')).toBeNull();
    child!.kill('SIGKILL');
    const { url } = await startServe(['--cors']);
    const response = await preflight(url);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });
  it('prints a fresh admin token once on stderr, and the admin API wants it', async () => {
    const { url, output, errors } = await startServe([]);
    // stderr is its own pipe: the token line may land just after the listening line.
    for (let i = 0; i < 100 && !errors().includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 20));
    const token = /admin token: (\S+)/.exec(errors())?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(errors().split(token!).length).toBe(2);
    expect(output()).not.toContain(token);
    expect((await counters(url)).status).toBe(401);
    expect((await counters(url, token)).status).toBe(200);
  });

  it('takes the admin token from --admin-token or SWITCHYARD_ADMIN_TOKEN, and does not print it', async () => {
    const fromEnv = await startServe([], { SWITCHYARD_ADMIN_TOKEN: 'token-from-the-environment' });
    expect((await counters(fromEnv.url, 'token-from-the-environment')).status).toBe(200);
    expect(fromEnv.errors()).not.toContain('token-from-the-environment');
    child!.kill('SIGKILL');
    const fromFlag = await startServe(['--admin-token', 'token-from-a-flag']);
    expect((await counters(fromFlag.url, 'token-from-a-flag')).status).toBe(200);
    expect(fromFlag.errors()).not.toContain('token-from-a-flag');
  });

  // 192.0.2.1 (TEST-NET-1) is on no interface: the bind fails, so nothing is exposed by the test.
  it('warns before binding beyond loopback', async () => {
    const result = await runCli(['serve', '--host', '192.0.2.1', '--port', '0'], { timeoutMs: 30_000 });
    expect(result.stderr).toMatch(/warning: .*192\.0\.2\.1 is not a loopback address/);
    expect(result.code).toBe(2);
  }, 60_000);

  it('refuses to forward beyond loopback without --allow-remote', async () => {
    for (const host of ['0.0.0.0', '192.0.2.1', '::']) {
      const result = await runCli(['serve', '--host', host, '--port', '0', '--forward'], {
        timeoutMs: 30_000,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--allow-remote');
      expect(result.stdout).not.toContain('listening');
    }
    const allowed = await runCli([
      'serve',
      '--host',
      '192.0.2.1',
      '--port',
      '0',
      '--forward',
      '--allow-remote',
    ]);
    expect(allowed.stderr).toMatch(/warning: .*192\.0\.2\.1/);
    expect(allowed.stderr).toMatch(/cannot listen on 192\.0\.2\.1/);
  }, 150_000);

  it('rejects a broken --config with file:line:column and exits 2', async () => {
    const file = join(tmpdir(), `switchyard-serve-${process.pid}.yaml`);
    await writeFile(file, 'faults:\n  - fault: rate_limit\n    params: { retryAfterMs: soon }\n');
    const result = await runCli(['serve', '--port', '0', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:3:`);
    expect(result.stderr).toContain('faults[0].params.retryAfterMs');
  });
});
