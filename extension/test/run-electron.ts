/**
 * The standard runner: @vscode/test-electron with the same integration suite. It needs a desktop VS
 * Code; downloading one is out of reach on these machines, so it runs only with a local install
 * (VSCODE_EXECUTABLE_PATH, or SWITCHYARD_TEST_ELECTRON_DOWNLOAD=1 where Microsoft's update servers are
 * reachable) and otherwise says plainly that it was skipped.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ext = resolve(import.meta.dirname, '..');

export async function runElectron(): Promise<{ status: 'passed' | 'failed' | 'skipped'; note?: string }> {
  const executable = process.env.VSCODE_EXECUTABLE_PATH;
  const download = process.env.SWITCHYARD_TEST_ELECTRON_DOWNLOAD === '1';
  if (!download && (!executable || !existsSync(executable))) {
    const note =
      'SKIPPED: no desktop VS Code here (set VSCODE_EXECUTABLE_PATH to a VS Code executable, or ' +
      'SWITCHYARD_TEST_ELECTRON_DOWNLOAD=1 where update.code.visualstudio.com is reachable); the same suite runs in code-server';
    console.log(`› integration suite under @vscode/test-electron: ${note}`);
    return { status: 'skipped', note };
  }
  const { runTests } = await import('@vscode/test-electron');
  const scratch = await mkdtemp(join(tmpdir(), 'switchyard-electron-'));
  const workspace = join(scratch, 'workspace');
  await cp(join(ext, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  console.log(`› integration suite under @vscode/test-electron (${executable ?? 'downloaded VS Code'})`);
  try {
    await runTests({
      ...(executable ? { vscodeExecutablePath: executable } : {}),
      extensionDevelopmentPath: ext,
      extensionTestsPath: join(ext, 'dist', 'test', 'suite.cjs'),
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
      ],
    });
    return { status: 'passed' };
  } catch (error) {
    return { status: 'failed', note: error instanceof Error ? error.message : String(error) };
  }
}

if (import.meta.main) {
  const outcome = await runElectron();
  console.log(`test-electron: ${outcome.status}${outcome.note ? ` — ${outcome.note}` : ''}`);
  process.exit(outcome.status === 'failed' ? 1 : 0);
}
