import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** A child process we started; stopped by its own pid only. */
export interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const force = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      proc.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      proc.kill('SIGTERM');
    });
}

/** Starts `node <script>` that prints `port <n>` on stdout when it listens. */
export function startNodeServer(
  script: string,
  env: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<Child> {
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return portFrom(proc, proc.stdout!, /port (\d+)/, script, timeoutMs);
}

/**
 * Resolves with the child once `stream` prints the `pattern` whose first group is its port; the
 * stream is drained from then on. Rejects (and kills the child) on a timeout or an early exit.
 */
function portFrom(
  proc: ChildProcess,
  stream: NodeJS.ReadableStream,
  pattern: RegExp,
  what: string,
  timeoutMs: number,
): Promise<Child> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${what} did not report its port within ${timeoutMs} ms`));
    }, timeoutMs);
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        stream.removeAllListeners('data');
        stream.resume();
        resolve({ proc, port: Number(match[1]), stop: stopper(proc) });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before listening: ${buffer}`));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a TCP connection (polling, bounded). */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True if something already listens on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts the Portkey gateway (its own start script, --headless: no log UI) and waits for port 8787. */
export async function startPortkey(): Promise<Child> {
  const port = 8787;
  if (await portInUse(port))
    throw new Error('port 8787 is already in use: is another Portkey gateway running?');
  const script = new URL('../../node_modules/@portkey-ai/gateway/build/start-server.js', import.meta.url)
    .pathname;
  const proc = spawn(process.execPath, [script, '--headless'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const child: Child = { proc, port, stop: stopper(proc) };
  try {
    await waitForPort(port);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return child;
}

/**
 * CPU time (user + system, µs) a child has used so far, from /proc: unlike latency and throughput it
 * is not inflated when other work on this 2-core machine preempts the process, so it is the steadiest
 * figure of what each gateway costs per request.
 */
export function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / 100) * 1e6;
  } catch {
    return Number.NaN;
  }
}

/** A process's resident set now and its peak so far (VmRSS, VmHWM from /proc), in bytes. */
export function rssOf(pid: number | undefined): { rss: number; peak: number } {
  if (pid === undefined) return { rss: Number.NaN, peak: Number.NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}

/**
 * Starts `switchyard gateway --config <file> --port 0` (the CLI, as a user runs it) and resolves once
 * its banner names the port. Its JSON request log (stdout) goes to /dev/null: written, not kept.
 */
export function startSwitchyardGateway(
  config: string,
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  extraArgs: string[] = [],
): Promise<Child> {
  const cli = new URL('../../core/src/cli/main.ts', import.meta.url).pathname;
  const proc = spawn(process.execPath, [cli, 'gateway', '--config', config, '--port', '0', ...extraArgs], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return portFrom(
    proc,
    proc.stderr!,
    /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    'switchyard gateway',
    timeoutMs,
  );
}
