/**
 * UI end to end: the packaged .vsix installed into real VS Code (code-server), driven like a user in
 * Debian's Chromium, once per theme (dark and light). It walks through every flow of the extension —
 * and every defect and capability of issue 17 — with real parts only: the built-in simulator, and a
 * chaos proxy on loopback playing a live OpenAI that accepts one key only (a wrong key gets a real 401).
 *
 * Every step leaves a screenshot in reports/test-artifacts/extension/<theme>-NN-<step>.png, and both
 * webviews (the compare panel and the scenario report) are checked with axe-core: no serious or
 * critical violation, colour contrast included.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ChaosProxy, startChaosProxy, ZERO_LATENCY } from '@switchyard/core/faults';
import { type Browser, chromium, type Frame, type FrameLocator, type Page } from 'playwright-core';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  installExtension,
  prepareHome,
  startCodeServer,
} from '../../scripts/code-server.ts';
import {
  answerInput,
  clearNotifications,
  commandThenPick,
  compareFrame,
  describeViolations,
  escapeRe,
  goTo,
  inputValue,
  metric,
  notification,
  quickFix,
  quickOpen,
  reportFrame,
  runCommand,
  seriousViolations,
  text,
  webview,
} from './support.ts';

const ext = resolve(import.meta.dirname, '..', '..');

export type Theme = 'dark' | 'light';
export const THEMES: Record<Theme, string> = { dark: 'Default Dark Modern', light: 'Default Light Modern' };

export interface E2EOptions {
  bin: string;
  vsix: string;
  artifacts: string;
  theme: Theme;
  log: (line: string) => void;
}

/** The one key the loopback "OpenAI" accepts; the test types another. */
const GOOD_KEY = 'sk-e2e-accepted-key-000000';
const WRONG_KEY = 'sk-e2e-wrong-key-111111';

/** Starts a run through `start` and waits until that new run (another run id) has finished. */
async function newRun(panel: FrameLocator, start: () => Promise<unknown>): Promise<void> {
  const before = await panel.locator('#columns').getAttribute('data-run');
  await start();
  const fresh = before ? `:not([data-run="${before}"])` : '[data-run]';
  await panel.locator(`#columns${fresh}[data-finished="true"]`).waitFor({ timeout: 60_000 });
}

export async function runE2E({ bin, vsix, artifacts, theme, log }: E2EOptions): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), `switchyard-e2e-${theme}-`));
  const workspace = join(scratch, 'workspace');
  await cp(join(ext, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  // A live OpenAI on loopback: the simulator behind a real socket, authenticating one key only.
  const openai: ChaosProxy = await startChaosProxy({
    mode: 'simulate',
    seed: 17,
    simulator: { latency: { '*': ZERO_LATENCY }, acceptKey: (_p, key) => key === GOOD_KEY },
  });
  await writeFile(
    join(workspace, '.vscode', 'settings.json'),
    `${JSON.stringify(
      {
        'switchyard.simulation': 'auto',
        'switchyard.maxOutputTokens': 80,
        'switchyard.providers.openai.baseURL': `${openai.url}/v1`,
      },
      null,
      2,
    )}\n`,
  );
  const homeDir = join(scratch, 'home');
  const settings = {
    'testing.automaticallyOpenPeekView': 'failureAnywhere',
    'workbench.colorTheme': THEMES[theme],
    'window.zoomLevel': 0,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.panel.opensMaximized': 'never',
    'editor.codeLens': true,
  };
  const home = await prepareHome(homeDir, settings);
  log(`  [${theme}] installing ${vsix}`);
  const installed = await installExtension(bin, home, vsix);
  assert.match(installed, /successfully installed/i, installed);
  const server = await startCodeServer(bin, { workspace, home: homeDir, settings });
  let browser: Browser | undefined;
  let page: Page | undefined;
  let step = 0;
  const shot = async (name: string) => {
    if (!page) return;
    const file = join(artifacts, `${theme}-${String(++step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    log(`  screenshot ${file}`);
  };
  const accessible = async (frame: Frame, what: string) => {
    const violations = await seriousViolations(frame);
    assert.deepEqual(violations, [], `${what} (${theme}): axe found\n${describeViolations(violations)}`);
  };
  try {
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /switchyard/i.test(m.text())) errors.push(m.text());
    });
    await page.goto(`${server.url}?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor();
    await page.locator('.statusbar').waitFor();
    // The extension is active once its spend item is in the status bar.
    await page
      .locator('.statusbar-item', { hasText: /\$0 live · \$0 simulated/ })
      .waitFor({ timeout: 60_000 });
    await runCommand(page, 'View: Close Primary Side Bar');

    // 1. The empty panel: every action that needs a run is disabled, the panel says what to do.
    await runCommand(page, 'Switchyard: Show Compare Panel');
    let panel = await webview(page, '#columns');
    await panel.locator('#empty').waitFor();
    for (const id of ['rerun-all', 'cancel-all', 'copy-all', 'export-md', 'export-json', 'save', 'chaos-run'])
      assert.equal(await panel.locator(`#${id}`).isDisabled(), true, `#${id} is disabled on an empty panel`);
    await shot('empty-panel');
    await accessible(await compareFrame(page), 'the empty compare panel');

    // 2. Enter on an empty input says why nothing happened.
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'Switchyard: Compare Prompt Across Models');
    await answerInput(page, '');
    const validation = page.locator('.quick-input-widget .quick-input-message', {
      hasText: /Type a prompt first/,
    });
    await validation.waitFor();
    await shot('empty-input-message');
    await page.keyboard.press('Escape');

    // 3. "New Prompt File" creates a real prompt file: CodeLens at once, and Compare runs the prompt under the cursor.
    await runCommand(page, 'Switchyard: New Prompt File');
    await inputValue(page, /^prompts\/comparison\.switchyard\.md$/);
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab', { hasText: 'comparison.switchyard.md' }).waitFor();
    assert.ok(existsSync(join(workspace, 'prompts', 'comparison.switchyard.md')), 'the file is on disk');
    const lens = page.locator('.codelens-decoration', { hasText: 'Compare on 3 models' });
    await lens.first().waitFor();
    assert.equal(await lens.count(), 2, 'one lens per prompt');
    await shot('new-prompt-file');
    await runCommand(page, 'Switchyard: Compare Prompt Across Models');
    panel = await webview(page, '#columns');
    await panel.locator('#prompt-title', { hasText: 'Circuit breakers' }).waitFor();
    await panel.locator('#columns[data-finished="true"]').waitFor({ timeout: 60_000 });

    // 4. Three columns side by side in the panel beside the editor; model ids whole; Markdown; totals.
    const columns = panel.locator('section.column');
    assert.equal(await columns.count(), 3);
    const ids = await columns.evaluateAll((els) => els.map((e) => e.getAttribute('data-column')));
    assert.deepEqual(ids, ['openai/gpt-4.1', 'anthropic/claude-sonnet-4-6', 'ollama/llama3.2']);
    const frame = await compareFrame(page);
    const layout = await frame.evaluate(() => ({
      tops: [...document.querySelectorAll('section.column')].map((e) =>
        Math.round(e.getBoundingClientRect().top),
      ),
      pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      columnsOverflow: (() => {
        const el = document.getElementById('columns')!;
        return el.scrollWidth - el.clientWidth;
      })(),
      names: [...document.querySelectorAll('section.column h2 .model')].map((e) => ({
        text: e.textContent,
        lines: e.getClientRects().length,
        fits: e.getBoundingClientRect().width <= (e.closest('section')?.getBoundingClientRect().width ?? 0),
      })),
      paragraphs: document.querySelectorAll('section.column .answer p').length,
    }));
    assert.equal(new Set(layout.tops).size, 1, `the three columns share one row: ${layout.tops}`);
    assert.ok(layout.pageOverflow <= 0, `the panel does not scroll sideways (${layout.pageOverflow}px)`);
    assert.ok(
      layout.columnsOverflow <= 0,
      `three columns fit the default panel (${layout.columnsOverflow}px over)`,
    );
    for (const n of layout.names) assert.ok(n.lines === 1 && n.fits, `"${n.text}" is on one line, whole`);
    assert.ok(layout.paragraphs >= 3, 'answers are rendered as Markdown paragraphs');
    for (const id of ids) {
      const col = panel.locator(`section.column[data-column="${id}"]`);
      assert.equal(await col.getAttribute('data-status'), 'done', `${id} finished`);
      assert.equal(await text(col.locator('.badge.mode')), 'simulated');
      assert.match(await metric(col, 'latency'), /^\d+(\.\d)? (ms|s)$/);
      assert.match(await text(col.locator('[data-testid="path"]')), new RegExp(`^${escapeRe(id!)}\\s*✓`));
    }
    assert.equal(await metric(panel.locator('section.column[data-column="ollama/llama3.2"]'), 'cost'), '$0');
    assert.equal(
      await panel.locator('section.column[data-column="ollama/llama3.2"] .badge.cheapest').count(),
      1,
    );
    assert.match(await text(panel.locator('[data-total="cost"]')), /^\$0\.\d+$/);
    assert.equal(await text(panel.locator('[data-total="live"]')), '$0');
    assert.match(await text(panel.locator('[data-total="tokens"]')), /^[\d,]+ \/ [\d,]+$/);
    assert.match(await text(panel.locator('[data-total="time"]')), /^[\d.]+ m?s wall$/);
    // The status bar keeps simulated prices apart from real spend.
    await page
      .locator('.statusbar-item', { hasText: /\$0 live · \$0\.\d+ simulated/ })
      .first()
      .waitFor();
    await shot('compare-three-models');
    await accessible(frame, 'the compare panel');

    // 5. The prompt file's problems: unknown model, a model not in the catalogue, a mistyped fault — each flagged at
    //    its value, with the closest known name as a quick fix; the lens counts what will run.
    await quickOpen(page, 'edge.switchyard.md');
    await page
      .locator('.codelens-decoration', { hasText: 'Compare on 2 models (1 unknown left out' })
      .first()
      .waitFor();
    await page.keyboard.press('Control+Shift+M');
    const problems = page.locator('.markers-panel');
    await problems.locator('.monaco-list-row', { hasText: 'did you mean openai/gpt-4.1' }).waitFor();
    await problems.locator('.monaco-list-row', { hasText: 'did you mean rate_limit' }).waitFor();
    await problems
      .locator('.monaco-list-row', { hasText: /claude-sonet-4-6.*simulator's catalogue/ })
      .waitFor();
    await shot('prompt-file-problems');
    await page.locator('.tabs-container .tab', { hasText: 'edge.switchyard.md' }).first().click();
    // Where each flagged value is (1-based, as Go to Line/Column takes it), read from the file itself.
    const edge = readFileSync(join(workspace, 'prompts', 'edge.switchyard.md'), 'utf8').split('\n');
    const at = (needle: string) => {
      const line = edge.findIndex((l) => l.includes(needle));
      return [line + 1, edge[line]!.indexOf(needle) + 2] as const;
    };
    for (const [[line, column], replacement] of [
      [at('gpt-4.1,'), 'openai/gpt-4.1'],
      [at('claude-sonet-4-6'), 'anthropic/claude-sonnet-4-6'],
      [at('rate_limt'), 'rate_limit'],
    ] as const) {
      await goTo(page, line, column);
      await quickFix(page, `Replace with "${replacement}"`);
      await page.locator('.monaco-editor .view-lines', { hasText: replacement }).first().waitFor();
    }
    await page
      .locator('.codelens-decoration', { hasText: /^▶ Compare on 3 models$/ })
      .first()
      .waitFor();
    await page.keyboard.press('Control+S');
    await runCommand(page, 'View: Toggle Panel Visibility');
    await page.locator('.markers-panel').waitFor({ state: 'hidden' });

    // 6. The cursor on an empty prompt heading: said so, no other prompt compared.
    await goTo(page, edge.indexOf('## Empty') + 1, 1);
    await runCommand(page, 'Switchyard: Compare Prompt Across Models');
    await notification(page, /"Empty".*has no text under its heading/);
    assert.equal(await text(panel.locator('#prompt-title')), 'Circuit breakers', 'nothing else ran');
    await shot('empty-heading-message');
    await clearNotifications(page);

    // 7. A wrong OpenAI key: the column shows its own 401, prominently; no other model answers for it.
    await commandThenPick(page, 'Switchyard: Set API Key', 'openai');
    await answerInput(page, WRONG_KEY);
    await page.locator('.tabs-container .tab', { hasText: 'Switchyard Compare' }).first().click();
    await newRun(panel, () => panel.locator('#rerun-all').click());
    let own = panel.locator('section.column[data-column="openai/gpt-4.1"]');
    assert.equal(await own.getAttribute('data-status'), 'failed');
    assert.equal(await text(own.locator('.badge.mode')), 'live');
    assert.match(await text(own.locator('[data-testid="error"] .error-title')), /^✗ 401 unauthorized$/);
    assert.equal(
      (await own.locator('[data-testid="answer"]').allInnerTexts()).join('').trim(),
      '',
      'no answer from another model',
    );
    assert.equal(await own.locator('.badge.cheapest, .badge.fastest').count(), 0);
    assert.equal(await metric(own, 'served'), '—');
    assert.ok(!(await text(panel.locator('body'))).includes(WRONG_KEY), 'the key is not shown');
    await shot('wrong-key-own-error');
    await accessible(await compareFrame(page), 'the compare panel with a failed column');

    // 8. Fallback is an explicit toggle: on, a banner says who answered and that it was simulated; no badge earned.
    await panel.locator('#fallback').check();
    await panel.locator('#fallback-hint').waitFor();
    await newRun(panel, () => panel.locator('#rerun-all').click());
    await panel.locator('#routing-badge', { hasText: 'fallback on' }).waitFor();
    own = panel.locator('section.column[data-column="openai/gpt-4.1"]');
    assert.equal(await own.getAttribute('data-status'), 'done');
    assert.match(
      (await text(own.locator('[data-testid="fallback-banner"]'))).replace(/\s+/g, ' '),
      /^Answered by anthropic\/claude-sonnet-4-6 \(simulated\), not by openai\/gpt-4\.1, whose own call failed: 401 unauthorized\.$/,
    );
    assert.equal(await own.locator('.badge.cheapest, .badge.fastest').count(), 0, 'no badge it did not earn');
    assert.equal(await own.locator('.badge.fellback').count(), 1);
    await shot('fallback-banner');

    // 9. Everything fails (503 on every provider, fallback on): each column shows its own model's error, not the
    //    last fallback's; retry chips name their model and carry their own wait; a 503 reads "service unavailable".
    await panel.locator('#chaos-fault').selectOption('service_unavailable');
    await panel.locator('#chaos-provider').selectOption('all');
    await panel.locator('#chaos-rate').fill('1');
    await newRun(panel, () => panel.locator('#chaos-run').click());
    await panel.locator('#chaos-badge', { hasText: 'service_unavailable on all' }).waitFor();
    for (const id of ids) {
      const col = panel.locator(`section.column[data-column="${id}"]`);
      assert.equal(await col.getAttribute('data-status'), 'failed', `${id} failed`);
      assert.match(
        await text(col.locator('[data-testid="error"] .error-title')),
        /^✗ 503 service unavailable$/,
      );
      // The last fallback of the first two columns is Ollama: their message is their own provider's.
      const provider = id!.split('/')[0]!;
      assert.match(
        await text(col.locator('[data-testid="error"] .error-message')),
        new RegExp(`^${provider}: `),
      );
    }
    const claude = panel.locator('section.column[data-column="anthropic/claude-sonnet-4-6"]');
    const chips = claude.locator('[data-testid="path"] .step');
    assert.match(
      (await text(chips.nth(0))).replace(/\s+/g, ' '),
      /^anthropic\/claude-sonnet-4-6 ✗ 503 service unavailable$/,
    );
    assert.match(
      (await text(chips.nth(1))).replace(/\s+/g, ' '),
      /^↻ anthropic\/claude-sonnet-4-6 after \d+ ms ✗ 503 service unavailable$/,
    );
    assert.match(
      (await text(chips.nth(2))).replace(/\s+/g, ' '),
      /^openai\/gpt-4\.1 ✗ 503 service unavailable$/,
    );
    await shot('all-failed-own-errors');
    await newRun(panel, () => panel.locator('#chaos-clear').click());
    await panel.locator('#fallback').uncheck();
    await commandThenPick(page, 'Switchyard: Clear API Key', 'openai');

    // 10. Per-column parameters, kept with the comparison: the Anthropic column answers in at most 5 tokens.
    await newRun(panel, () => panel.locator('#rerun-all').click());
    let anthropic = panel.locator('section.column[data-column="anthropic/claude-sonnet-4-6"]');
    await anthropic.locator('details.params summary').click();
    await anthropic.locator('details.params input[name="temperature"]').fill('0.9');
    await anthropic.locator('details.params input[name="maxOutputTokens"]').fill('5');
    await anthropic.locator('details.params textarea[name="system"]').fill('Answer in French.');
    await anthropic.locator('details.params button.apply').click();
    await panel
      .locator('section.column[data-column="anthropic/claude-sonnet-4-6"] details.params summary', {
        hasText: 'Parameters: temperature 0.9, max 5 tokens, own system prompt',
      })
      .waitFor();
    await panel.locator('#columns[data-finished="true"]').waitFor({ timeout: 60_000 });
    anthropic = panel.locator('section.column[data-column="anthropic/claude-sonnet-4-6"]');
    await anthropic.locator('[data-metric="finish"]', { hasText: 'length' }).waitFor();
    assert.match(await metric(anthropic, 'tokens'), /^[\d,]+ \/ [1-5]$/);
    await shot('column-parameters');

    // 11. The model picker: the simulator's catalogue without a key; with the (right) OpenAI key, OpenAI's live
    //     models.list. A model added from it runs live, is marked live, and its cost counts as live spend.
    await panel.locator('#model-picker optgroup[label="openai (simulator)"]').waitFor({ state: 'attached' });
    await commandThenPick(page, 'Switchyard: Set API Key', 'openai');
    await answerInput(page, GOOD_KEY);
    await page.locator('.tabs-container .tab', { hasText: 'Switchyard Compare' }).first().click();
    await panel
      .locator('#model-picker optgroup[label="openai (live)"] option[value="openai/gpt-4o-mini"]')
      .waitFor({
        state: 'attached',
      });
    await panel.locator('#model-picker').selectOption('openai/gpt-4o-mini');
    await panel.locator('#add-model').click();
    const added = panel.locator('section.column[data-column="openai/gpt-4o-mini"]');
    await added.waitFor();
    await panel
      .locator('section.column[data-column="openai/gpt-4o-mini"][data-status="done"]')
      .waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('section.column').count(), 4);
    assert.equal(await text(added.locator('.badge.mode')), 'live');
    assert.match(
      await text(panel.locator('[data-total="live"]')),
      /^\$0\.\d+$/,
      'live spend is its own figure',
    );
    await page
      .locator('.statusbar-item', { hasText: /\$0\.\d+ live · \$0\.\d+ simulated/ })
      .first()
      .waitFor();
    // Four columns scroll sideways inside the panel; a folded column gives the others its room.
    await panel.locator('#collapse-ollama\\/llama3\\.2').click();
    const folded = panel.locator('section.column.collapsed[data-column="ollama/llama3.2"]');
    await folded.waitFor();
    assert.ok(((await folded.boundingBox())?.width ?? 999) < 60, 'a folded column is a narrow strip');
    await shot('model-picker-live-column-and-folded');
    await panel.locator('#collapse-ollama\\/llama3\\.2').click();
    await folded.waitFor({ state: 'detached' });
    await panel.locator('#remove-openai\\/gpt-4o-mini').click();
    await added.waitFor({ state: 'detached' });
    await commandThenPick(page, 'Switchyard: Clear API Key', 'openai');

    // 12. A diff between two answers.
    await panel.locator('#diff summary').click();
    await panel.locator('#diff-a').selectOption('openai/gpt-4.1');
    await panel.locator('#diff-b').selectOption('ollama/llama3.2');
    await panel.locator('[data-testid="diff-text"] ins').first().waitFor();
    assert.ok((await panel.locator('[data-testid="diff-text"] del').count()) > 0);
    await shot('diff-two-answers');
    await panel.locator('#diff summary').click();

    // 13. History: label this run, search, pick an older run; the panel says which run it shows; it stays narrow.
    await panel.locator('#run-label').fill('french anthropic');
    await panel.locator('#run-label').press('Enter');
    await panel.locator('#run-info', { hasText: 'french anthropic' }).waitFor();
    await panel.locator('#history summary').click();
    await panel.locator('#history-search').fill('french');
    const found = panel.locator('#history-list .history-item');
    await panel.locator('#history-list .history-item', { hasText: 'french anthropic' }).waitFor();
    assert.equal(await found.count(), 1, 'the search finds the labelled run only');
    await panel.locator('#history-search').fill('circuit');
    assert.ok((await found.count()) >= 3, 'the search finds runs by prompt');
    const overflow = await (await compareFrame(page)).evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `the open history does not widen the panel (${overflow}px)`);
    await shot('history-search');
    const older = found.nth(2);
    const olderRun = await older.getAttribute('data-run');
    const olderTime = (await text(older.locator('.history-facts'))).split(' · ')[0]!;
    await older.click();
    await panel.locator('#run-info', { hasText: olderTime }).waitFor();
    await panel.locator('#history summary').click();
    assert.equal(
      await panel.locator('#history-list .history-item[aria-current="true"]').getAttribute('data-run'),
      olderRun,
      'the history marks the run shown',
    );
    await panel.locator('#history summary').click();

    // 14. Save the labelled comparison as a workspace file, close the panel, open the file again.
    await panel.locator('#history summary').click();
    await panel.locator('#history-search').fill('french');
    await panel.locator('#history-list .history-item').first().click();
    await panel.locator('#run-info', { hasText: 'french anthropic' }).waitFor();
    await panel.locator('#save').click();
    await inputValue(page, /comparisons\/french-anthropic\.comparison\.json$/);
    await page.keyboard.press('Enter');
    const saved = join(workspace, 'comparisons', 'french-anthropic.comparison.json');
    for (let i = 0; i < 50 && !existsSync(saved); i++) await page.waitForTimeout(200);
    assert.ok(
      existsSync(saved),
      `the comparison file is in the workspace: ${readdirSync(join(workspace, 'comparisons'))}`,
    );
    assert.match(readFileSync(saved, 'utf8'), /"maxOutputTokens": 5/);
    await runCommand(page, 'View: Close All Editors');
    await commandThenPick(page, 'Switchyard: Open Saved Comparison', 'french-anthropic.comparison.json');
    panel = await webview(page, '#columns');
    await panel.locator('#run-info', { hasText: 'french anthropic' }).waitFor();
    await panel
      .locator('section.column[data-column="anthropic/claude-sonnet-4-6"] details.params summary', {
        hasText: 'max 5 tokens',
      })
      .waitFor();
    await shot('saved-comparison-reopened');

    // 15. Markdown answers with highlighted code, sanitised: a saved comparison whose answers carry code and
    //     injected HTML (an <img onerror>, a <script>, a javascript: link).
    await commandThenPick(page, 'Switchyard: Open Saved Comparison', 'markdown-demo.comparison.json');
    await panel.locator('#run-info', { hasText: 'markdown demo' }).waitFor();
    const md = await compareFrame(page);
    const rendered = await md.evaluate(() => ({
      code: document.querySelectorAll('.answer pre code.hljs').length,
      tokens: document.querySelectorAll('.answer pre code .hljs-keyword').length,
      strong: document.querySelectorAll('.answer strong').length,
      lists: document.querySelectorAll('.answer ul li').length,
      img: document.querySelectorAll('.answer img, .answer script').length,
      injected: document.body.dataset.injected ?? '',
      hrefs: [...document.querySelectorAll('.answer a')].map((a) => a.getAttribute('href') ?? ''),
    }));
    assert.equal(rendered.code, 2, 'two highlighted code blocks');
    assert.ok(rendered.tokens > 2, 'keywords are highlighted');
    assert.equal(rendered.strong, 2);
    assert.equal(rendered.lists, 4);
    assert.equal(rendered.img, 0, 'no image or script from an answer');
    assert.equal(rendered.injected, '', 'no injected code ran');
    assert.ok(
      rendered.hrefs.every((h) => !/^javascript:/i.test(h)),
      `no javascript: link (${rendered.hrefs})`,
    );
    await shot('markdown-answers');
    await accessible(md, 'the compare panel with Markdown answers');

    // 16. The scenario report in this theme: readable (axe colour contrast), in the theme's own palette.
    await runCommand(page, 'Testing: Focus on Test Explorer View');
    const tree = page.locator('.test-explorer .monaco-list');
    await tree.locator('.monaco-list-row', { hasText: 'openai-outage' }).waitFor();
    await runCommand(page, 'Test: Run All Tests');
    const report = await reportFrame(page, /openai-outage/);
    assert.match(await text(report.locator('body')), /openai-outage/);
    await accessible(report, 'the scenario report');
    const colours = await report.evaluate(() => {
      const body = getComputedStyle(document.body);
      const card = document.querySelector('.card');
      return {
        text: body.color,
        background: body.backgroundColor,
        card: card ? getComputedStyle(card).backgroundColor : '',
      };
    });
    const luminance = (rgb: string) => {
      const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0']).map(Number);
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    if (theme === 'dark')
      assert.ok(
        luminance(colours.background) < 60,
        `a dark report in a dark theme: ${JSON.stringify(colours)}`,
      );
    else
      assert.ok(
        luminance(colours.background) > 200,
        `a light report in a light theme: ${JSON.stringify(colours)}`,
      );
    await shot('scenario-report');

    // 17. The failed hypothesis: expected vs actual, as a diff in the test peek at the hypothesis's line.
    const failedRow = tree.locator('.monaco-list-row', { hasText: 'deliberately-failing' });
    if (!(await failedRow.isVisible().catch(() => false))) {
      await tree.locator('.monaco-list-row', { hasText: 'openai-outage' }).first().click();
      await page.keyboard.press('ArrowRight');
    }
    await failedRow.waitFor({ timeout: 60_000 });
    await page.locator('.tabs-container .tab', { hasText: 'openai-outage.yaml' }).first().click();
    const peek = page.locator('.test-output-peek');
    if (!(await peek.isVisible().catch(() => false))) {
      await failedRow.dblclick();
      await runCommand(page, 'Test: Peek Output');
    }
    await peek.locator('.monaco-diff-editor').first().waitFor();
    const diffText = (await text(peek)).replace(/\s+/g, ' ');
    assert.match(diffText, /≤ 50 ms/);
    assert.match(diffText, /\d+ ms over 40 requests/);
    await shot('failed-hypothesis-diff');
    assert.deepEqual(errors, [], 'no Switchyard errors in the console');
  } catch (error) {
    await shot('failure').catch(() => undefined);
    log(server.output().split('\n').slice(-30).join('\n'));
    throw error;
  } finally {
    await browser?.close();
    await server.stop();
    await openai.close();
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
