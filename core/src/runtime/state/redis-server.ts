import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private `redis-server` (Debian's package) on a free loopback port with a folder of its own:
 * what a scenario with `state: redis` and no URL runs against, and what the tests and the bench
 * start. It persists to an append-only file (synced every second, or on every write, or not at all
 * when asked), so a server killed and started again on the same folder comes back with the ledger
 * it had. Stopped by its pid, never by name.
 */
export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** SIGKILL, as a crash would (the folder stays, for `start` again). */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** The redis-server binary (default: `redis-server` on PATH). */
  binary?: string;
  /**
   * The append-only file: 'everysec' (default; a crash loses up to a second of writes), 'always'
   * (synced on every write: what the crash tests need) or 'none' (memory only: scenario runs and
   * benchmarks, where a write to this machine's disk cost ~2 ms of each round trip).
   */
  persistence?: 'everysec' | 'always' | 'none';
  /** How long the server may take to answer PING (default 10 s). */
  readyTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING over a raw socket: true when the server answers PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export async function startLocalRedis(options: StartRedisOptions = {}): Promise<LocalRedis> {
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const persistence = options.persistence ?? 'everysec';
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    output = '';
    const spawned = spawn(
      binary,
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dir,
        '--save',
        '',
        ...(persistence === 'none'
          ? ['--appendonly', 'no']
          : ['--appendonly', 'yes', '--appendfsync', persistence]),
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = spawned;
    spawned.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    spawned.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const failed = new Promise<never>((_, reject) => {
      spawned.once('error', (error) =>
        reject(new Error(`cannot start ${binary} (apt-get install redis-server): ${error.message}`)),
      );
      spawned.once('exit', (code) => reject(new Error(`${binary} exited with ${code}: ${output.trim()}`)));
    });
    failed.catch(() => {});
    const until = Date.now() + readyTimeoutMs;
    for (;;) {
      const ready = await Promise.race([ping(port), failed]);
      if (ready) return;
      if (Date.now() > until) throw new Error(`${binary} did not answer on port ${port}: ${output.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const signal = async (name: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(name);
    await exited;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    kill: () => signal('SIGKILL'),
    restart: launch,
    stop: async () => {
      await signal('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
