import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from './helpers.ts';

/**
 * `switchyard gateway` as the README runs it: with no --config it serves the shipped default router
 * config against the built-in simulator, so one curl works with no keys; SIGTERM drains and exits 0.
 */
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

function startGateway(
  args: string[] = [],
): Promise<{ url: string; stdout: () => string; stderr: () => string }> {
  // No provider keys in its environment: the default setup must not need any.
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  child = spawn(process.execPath, [CLI, 'gateway', '--port', '0', ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  return new Promise((resolveUrl, reject) => {
    child!.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      // The banner's last line: everything above it is printed.
      if (match && stderr.includes('drains and stops'))
        resolveUrl({ url: match[1]!, stdout: () => stdout, stderr: () => stderr });
    });
    child!.on('error', reject);
    child!.on('close', (code) => reject(new Error(`gateway exited early with ${code}: ${stderr}`)));
  });
}

const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });

describe('switchyard gateway', () => {
  it('with no config: the default router config against the simulator; curl works; SIGTERM exits 0', async () => {
    const { url, stdout, stderr } = await startGateway();
    expect(stderr()).toContain('against the built-in simulator');
    // The README's curl, as fetch.
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-served-by')).toBe('openai/gpt-4.1');

    const streamed = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chat',
        max_tokens: 30,
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    });
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await streamed.text()).toContain('event: message_stop');

    // One JSON log line per request on stdout.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l.path, l.status])).toEqual([
      ['/v1/chat/completions', 200],
      ['/v1/messages', 200],
    ]);
    child!.kill('SIGTERM');
    expect(await exited(child!)).toBe(0);
    expect(stderr()).toContain('stopped');
  });

  it('a bad config exits 2 with file:line:column and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-gateway-'));
    try {
      const file = join(dir, 'gateway.yaml');
      await writeFile(
        file,
        [
          'deployments:',
          '  - { id: a, provider: openai, model: gpt-4.1 }',
          'gateway:',
          '  keys:',
          '    - { name: k, tenant: t, hash: "not-a-hash" }',
        ].join('\n'),
      );
      const result = await runCli(['gateway', '--config', file, '--port', '0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${file}:5:35 gateway.keys[0].hash`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a non-loopback bind without virtual keys', async () => {
    const result = await runCli(['gateway', '--host', '0.0.0.0', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/without virtual keys/);
  });
});
