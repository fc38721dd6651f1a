/**
 * Driving VS Code (code-server) like a user, for the end-to-end suite: the command palette, quick
 * open, the webviews (an iframe in an iframe), notifications, axe-core accessibility checks inside a
 * webview's document, and screenshots.
 */
import axe from 'axe-core';
import type { Frame, FrameLocator, Locator, Page } from 'playwright-core';

/** The text as rendered (Playwright's innerText, not the DOM property). */
export async function text(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, the visible text
  return locator.innerText();
}

export async function metric(column: ReturnType<FrameLocator['locator']>, name: string): Promise<string> {
  return (await text(column.locator(`[data-metric="${name}"]`))).trim();
}

export function escapeRe(source: string): string {
  return source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
  // The palette closes (or gives way to the command's own input). On a loaded machine an Enter can be
  // lost while focus settles: press it again rather than wait for an input that never comes.
  for (let i = 0; i < 20; i++) {
    const still =
      (await input.isVisible().catch(() => false)) &&
      (await input.inputValue().catch(() => '')) === `>${title}`;
    if (!still) return;
    if (i === 10) await page.keyboard.press('Enter');
    await page.waitForTimeout(200);
  }
  throw new Error(`the command palette did not run "${title}"`);
}

/** Picks an item of the open quick pick as a user does: types its label, Enter on the best match. */
export async function pick(page: Page, label: string, timeout?: number): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout });
  await input.fill(label, { timeout });
  await page
    .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label })
    .first()
    .waitFor({ timeout });
  await page.keyboard.press('Enter');
}

/**
 * Runs a command that opens a quick pick, then picks in it. A quick pick closes when it loses focus,
 * and on a loaded machine a webview settling after the previous step can take focus before the pick
 * is used (seen in CI: the pick hidden, never typed in). Every command this drives is idempotent up to
 * its pick, so the command is run again, at most three times, rather than the step failing on timing.
 */
export async function commandThenPick(page: Page, title: string, label: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let tries = 1; ; tries++) {
    await runCommand(page, title);
    const shown = await input.waitFor({ timeout: 10_000 }).then(
      () => true,
      () => false,
    );
    if (shown) {
      try {
        await pick(page, label, 10_000);
        return;
      } catch (error) {
        if (tries === 3) throw error;
      }
    } else if (tries === 3) throw new Error(`"${title}" never showed its quick pick (3 tries)`);
    await page.keyboard.press('Escape');
  }
}

/** The open input box: its value typed, then Enter. */
export async function answerInput(page: Page, value: string | undefined): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  if (value !== undefined) await input.fill(value);
  await page.keyboard.press('Enter');
}

export async function quickOpen(page: Page, file: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(file);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor();
}

/** Waits until the open input box holds a value that matches (a palette that is closing still shows its own). */
export async function inputValue(page: Page, pattern: RegExp): Promise<string> {
  const input = page.locator('.quick-input-widget input');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await input.inputValue().catch(() => '');
    if (pattern.test(value)) return value;
    if (Date.now() > deadline) throw new Error(`the input box never held ${pattern} (last: "${value}")`);
    await page.waitForTimeout(100);
  }
}

/** Puts the cursor of the active editor at line:column (1-based), through "Go to Line/Column". */
export async function goTo(page: Page, line: number, column = 1): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
}

/** Applies the quick fix with this title at the cursor (Ctrl+.; asked again while the diagnostics settle). */
export async function quickFix(page: Page, title: string): Promise<void> {
  const fix = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+.');
    const shown = await fix.waitFor({ timeout: 5_000 }).then(
      () => true,
      () => false,
    );
    if (shown) break;
    if (attempt === 4) throw new Error(`no quick fix "${title}" at the cursor`);
    await page.keyboard.press('Escape');
  }
  await fix.click();
}

/** Waits for a notification toast with this text; returns it. */
export async function notification(page: Page, pattern: RegExp): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: pattern }).first();
  await toast.waitFor();
  return toast;
}

export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
}

/** The webview whose document has `selector`: a webview is an iframe (.webview.ready) holding #active-frame. */
export async function webview(page: Page, selector: string): Promise<FrameLocator> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const count = await page.locator('iframe.webview.ready').count();
    for (let i = 0; i < count; i++) {
      const inner = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('#active-frame');
      if ((await inner.locator(selector).count()) > 0) return inner;
    }
    if (Date.now() > deadline) throw new Error(`no webview with ${selector}`);
    await page.waitForTimeout(250);
  }
}

/** The Frame of the webview whose document matches (for evaluate: axe, layout measures). */
export async function webviewFrame(page: Page, matches: (frame: Frame) => Promise<boolean>): Promise<Frame> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame.name() !== 'active-frame' && !frame.url().includes('fake.html')) continue;
      if (await matches(frame).catch(() => false)) return frame;
    }
    if (Date.now() > deadline) throw new Error('the webview did not open');
    await page.waitForTimeout(250);
  }
}

export const compareFrame = (page: Page) =>
  webviewFrame(page, async (f) => (await f.locator('#columns').count()) > 0);

export const reportFrame = (page: Page, name: RegExp) =>
  webviewFrame(page, async (f) => name.test(await f.title()) && (await f.locator('main').count()) > 0);

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/**
 * axe-core inside one webview's document (WCAG 2.1 A/AA and best practices); returns the serious and
 * critical violations, each with the elements and why (colour contrast names both colours).
 */
export async function seriousViolations(frame: Frame): Promise<AxeViolation[]> {
  if (!(await frame.evaluate(() => 'axe' in window))) await frame.evaluate(axe.source);
  const result = await frame.evaluate(async () => {
    const w = window as unknown as { axe: typeof axe };
    return w.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact ?? '',
      help: v.help,
      nodes: v.nodes
        .slice(0, 8)
        .map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`.replace(/\s+/g, ' ')),
    }));
}

export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id} (${v.help}):\n    ${v.nodes.join('\n    ')}`).join('\n');
}
