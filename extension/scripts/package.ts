/**
 * `npm run package -w extension`: bundles the extension (build.ts --production: the host code with
 * @switchyard/core and the SDKs in one CommonJS file, plus the few files core reads at run time) and
 * packs dist-vsix/switchyard-vscode.vsix with `vsce package --no-dependencies`: the .vsix carries no
 * node_modules and needs nothing from the repo. Prints its size.
 */
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ext = resolve(import.meta.dirname, '..');
const repo = resolve(ext, '..');
export const VSIX = join(ext, 'dist-vsix', 'switchyard-vscode.vsix');

/** Builds and packs the .vsix; returns vsce's summary line (file count and size) and the size in bytes. */
export async function packageVsix(): Promise<{ summary: string; bytes: number }> {
  await run(process.execPath, [join(ext, 'scripts', 'build.ts'), '--production'], { cwd: ext });
  await mkdir(join(ext, 'dist-vsix'), { recursive: true });
  const { stdout } = await run(
    join(repo, 'node_modules', '.bin', 'vsce'),
    ['package', '--no-dependencies', '--allow-missing-repository', '-o', VSIX],
    { cwd: ext, maxBuffer: 16 * 1024 * 1024 },
  );
  return { summary: stdout.trim().split('\n').at(-1) ?? '', bytes: (await stat(VSIX)).size };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { summary, bytes } = await packageVsix();
  console.log(summary);
  console.log(`${VSIX}: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
}
