/**
 * The extension-host integration suite inside real VS Code (code-server): the workbench reads
 * extensionDevelopmentPath and extensionTestsPath from the `payload` query parameter, runs the suite's
 * run() in the Node extension host, and calls window.codeAutomationExit(code) when it settles.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath, startCodeServer } from '../scripts/code-server.ts';

const ext = resolve(import.meta.dirname, '..');

export async function runIntegrationInCodeServer(bin: string, log = console.log): Promise<number> {
  const scratch = await mkdtemp(join(tmpdir(), 'switchyard-it-'));
  const workspace = join(scratch, 'workspace');
  await cp(join(ext, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  const resultFile = join(scratch, 'result.json');
  const server = await startCodeServer(bin, {
    workspace,
    home: join(scratch, 'home'),
    env: { SWITCHYARD_TEST_RESULT: resultFile },
    // A built workbench reads extensionDevelopmentPath/extensionTestsPath from `payload` only with this.
    args: ['--vscode-option', 'enable-smoke-test-driver'],
    log: () => {},
  });
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: CHROMIUM_ARGS,
    headless: true,
  });
  try {
    const page = await browser.newPage();
    const exit = new Promise<number>((resolveExit) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code));
    });
    page.on('console', (message) => {
      const text = message.text();
      if (
        process.env.SWITCHYARD_TEST_VERBOSE ||
        /switchyard integration|\s[✓✗] |AssertionError|Error:/.test(text)
      )
        log(`[vscode] ${text}`);
    });
    const remote = (path: string) => `vscode-remote://127.0.0.1:${server.port}${path}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(ext)],
      ['extensionTestsPath', remote(join(ext, 'dist', 'test', 'suite.cjs'))],
    ]);
    const url = `${server.url}?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`;
    await page.goto(url);
    const timeout = new Promise<number>((r) =>
      setTimeout(() => r(124), Number(process.env.SWITCHYARD_IT_TIMEOUT_MS ?? 240_000)),
    );
    const code = await Promise.race([exit, timeout]);
    if (code === 124) log('integration suite timed out');
    const result = await readFile(resultFile, 'utf8').catch(() => undefined);
    if (result) log(`integration result: ${result.trim()}`);
    else if (code === 0) {
      log('integration suite reported success but wrote no result file: treating as failure');
      return 1;
    }
    return code;
  } finally {
    await browser.close();
    await server.stop();
    if (process.env.SWITCHYARD_KEEP_SCRATCH) log(`kept ${scratch}`);
    else await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
