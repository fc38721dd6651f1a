import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository root: every CLI test runs the real CLI from here, as a user would. */
export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = resolve(ROOT, 'core/src/cli/main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns `node core/src/cli/main.ts …args` (no TTY, no colour) and collects its output. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
    delete env.FORCE_COLOR;
    // A CLI test run inside a GitHub Actions job must not write to that job's step summary.
    if (!options.env || !('GITHUB_STEP_SUMMARY' in options.env)) delete env.GITHUB_STEP_SUMMARY;
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}
