/**
 * Real VS Code for the tests: code-server (VS Code's own build, web client + Node server), installed
 * on demand into a cache folder (never a dependency of the packages), started hermetically on
 * loopback. See shared notes "vscode-testing-facts".
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const CODE_SERVER_VERSION = '4.139.1';
const run = promisify(execFile);

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'switchyard', 'code-server');
}

export function codeServerBin(dir = cacheDir()): string {
  return join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/** Installs code-server into the cache folder unless it is there already; returns its entry script. */
export async function ensureCodeServer(log: (line: string) => void = console.log): Promise<string> {
  if (process.env.SWITCHYARD_CODE_SERVER) return process.env.SWITCHYARD_CODE_SERVER;
  const dir = cacheDir();
  const bin = codeServerBin(dir);
  const marker = join(dir, `.installed-${CODE_SERVER_VERSION}`);
  if (existsSync(bin) && existsSync(marker)) return bin;
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 24)
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} installs with Node 24 only (this is ${process.version})`,
    );
  if (!existsSync('/usr/include/gssapi/gssapi.h'))
    log(
      'warning: /usr/include/gssapi/gssapi.h is missing; code-server builds kerberos: apt-get install libkrb5-dev',
    );
  log(`installing code-server@${CODE_SERVER_VERSION} into ${dir} (once, ~600 MB)…`);
  await mkdir(dir, { recursive: true });
  await run(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--no-save',
      `code-server@${CODE_SERVER_VERSION}`,
    ],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_yes: 'true' } },
  );
  if (!existsSync(bin)) throw new Error(`code-server installed but ${bin} is missing`);
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return bin;
}

export interface CodeServerOptions {
  workspace: string;
  /** Folder for user data and extensions (created fresh when omitted). */
  home?: string;
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** More command-line flags, e.g. --enable-smoke-test-driver (needed for the `payload` query parameter). */
  args?: string[];
  log?: (line: string) => void;
}

export interface CodeServer {
  url: string;
  port: number;
  userDataDir: string;
  extensionsDir: string;
  output(): string;
  stop(): Promise<void>;
}

export const HERMETIC_SETTINGS = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'workbench.enableExperiments': false,
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'chat.disableAIFeatures': true,
};

export async function prepareHome(home?: string, settings: Record<string, unknown> = {}) {
  const root = home ?? (await mkdtemp(join(tmpdir(), 'switchyard-code-server-')));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  await mkdir(join(userDataDir, 'User'), { recursive: true });
  await mkdir(extensionsDir, { recursive: true });
  await writeFile(
    join(userDataDir, 'User', 'settings.json'),
    `${JSON.stringify({ ...HERMETIC_SETTINGS, ...settings }, null, 2)}\n`,
  );
  const config = join(root, 'config.yaml');
  await writeFile(config, 'auth: none\ncert: false\n');
  return { root, userDataDir, extensionsDir, config };
}

function baseArgs(home: Awaited<ReturnType<typeof prepareHome>>): string[] {
  return [
    '--config',
    home.config,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    home.userDataDir,
    '--extensions-dir',
    home.extensionsDir,
  ];
}

/** `code-server --install-extension file.vsix` into the home's extensions folder (offline). */
export async function installExtension(
  bin: string,
  home: Awaited<ReturnType<typeof prepareHome>>,
  vsix: string,
) {
  const { stdout, stderr } = await run(
    process.execPath,
    [bin, ...baseArgs(home), '--install-extension', vsix],
    {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, ...OFFLINE_ENV },
    },
  );
  return `${stdout}${stderr}`;
}

/**
 * code-server queries an extension gallery (open-vsx.org) on its own. Tests send nothing off this
 * machine, so the gallery is pointed at a closed loopback port: the query fails at once, locally.
 */
const OFFLINE_ENV = {
  EXTENSIONS_GALLERY: JSON.stringify({
    serviceUrl: 'http://127.0.0.1:1/gallery',
    itemUrl: 'http://127.0.0.1:1/item',
    resourceUrlTemplate: 'http://127.0.0.1:1/{publisher}/{name}/{version}/{path}',
  }),
};

export async function startCodeServer(bin: string, options: CodeServerOptions): Promise<CodeServer> {
  const home = await prepareHome(options.home, options.settings);
  const log = options.log ?? (() => {});
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, ...baseArgs(home), ...(options.args ?? []), '--bind-addr', '127.0.0.1:0', options.workspace],
    { env: { ...process.env, ...OFFLINE_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`code-server did not start in 60 s:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(`[code-server] ${line.trim()}`);
      const match = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${code}:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    userDataDir: home.userDataDir,
    extensionsDir: home.extensionsDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  return process.env.SWITCHYARD_CHROMIUM || '/usr/bin/chromium';
}
