/**
 * `npm run test:extension`: the extension's suites in real VS Code.
 *
 *   1. bundle (esbuild) and package the .vsix (vsce package --no-dependencies);
 *   2. the extension-host integration suite under @vscode/test-electron — skipped, saying so, when no
 *      desktop VS Code is available (set VSCODE_EXECUTABLE_PATH to use a local one);
 *   3. the same suite inside code-server (installed on demand into
 *      ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/code-server);
 *   4. the UI end-to-end test: the packaged .vsix installed into code-server, driven by Playwright
 *      in Debian's Chromium, once in a dark and once in a light theme; axe-core checks both webviews;
 *      screenshots in reports/test-artifacts/extension/.
 *
 * Options: --skip-build, --only=electron|integration|e2e, --theme=dark|light (default both)
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runE2E, THEMES, type Theme } from '../test/e2e/compare.e2e.ts';
import { runIntegrationInCodeServer } from '../test/integration-code-server.ts';
import { runElectron } from '../test/run-electron.ts';
import { ensureCodeServer } from './code-server.ts';
import { packageVsix, VSIX } from './package.ts';

const ext = resolve(import.meta.dirname, '..');
const repo = resolve(ext, '..');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const want = (suite: string) => !only || only.split(',').includes(suite);
const vsix = VSIX;
const artifacts = join(repo, 'reports', 'test-artifacts', 'extension');

const results: Array<{ suite: string; status: 'passed' | 'failed' | 'skipped'; note?: string }> = [];
const t0 = Date.now();

if (!process.argv.includes('--skip-build')) {
  console.log('› building and packaging the extension');
  const { summary, bytes } = await packageVsix();
  console.log(`${summary}; ${(bytes / 1024 / 1024).toFixed(2)} MB`);
}

if (want('electron')) {
  const outcome = await runElectron();
  results.push({ suite: 'integration (@vscode/test-electron)', ...outcome });
}

let bin: string | undefined;
if (want('integration') || want('e2e')) bin = await ensureCodeServer();

if (want('integration') && bin) {
  console.log('› integration suite in code-server');
  const code = await runIntegrationInCodeServer(bin);
  results.push({
    suite: 'integration (code-server)',
    status: code === 0 ? 'passed' : 'failed',
    note: `exit ${code}`,
  });
}

const themeArg = process.argv.find((a) => a.startsWith('--theme='))?.slice('--theme='.length);
const themes = (themeArg ? themeArg.split(',') : Object.keys(THEMES)) as Theme[];
if (want('e2e') && bin) {
  await rm(artifacts, { recursive: true, force: true });
  await mkdir(artifacts, { recursive: true });
  for (const theme of themes) {
    console.log(`› UI end-to-end in code-server + Playwright + Chromium, ${theme} theme`);
    const t = Date.now();
    try {
      await runE2E({ bin, vsix, artifacts, theme, log: console.log });
      results.push({
        suite: `e2e (code-server UI, ${theme})`,
        status: 'passed',
        note: `${Math.round((Date.now() - t) / 1000)} s, screenshots in ${artifacts}`,
      });
    } catch (error) {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      results.push({
        suite: `e2e (code-server UI, ${theme})`,
        status: 'failed',
        note: `screenshots in ${artifacts}`,
      });
    }
  }
}

console.log(`\nswitchyard extension tests (${Math.round((Date.now() - t0) / 1000)} s):`);
for (const r of results) console.log(`  ${r.status.padEnd(7)} ${r.suite}${r.note ? ` — ${r.note}` : ''}`);
process.exit(results.some((r) => r.status === 'failed') ? 1 : 0);
