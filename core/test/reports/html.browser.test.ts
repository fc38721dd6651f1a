import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports, writeSummary } from '../../src/reports/write.ts';
import { CHROMIUM, chartPixels, launchChromium, openOffline } from './browser-helpers.ts';
import { makeJournal, NASTY } from './fixture.ts';

/**
 * The HTML report in a real browser: Debian's Chromium, headless, opened from file:// with every
 * network request refused. Skipped only when /usr/bin/chromium is not installed (CI installs it).
 */
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`[reports] skipping the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const ARTIFACTS = resolve(fileURLToPath(new URL('../../../reports/test-artifacts', import.meta.url)));

describe.skipIf(!hasChromium)('HTML report in Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'switchyard-html-'));
    await mkdir(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const CHARTS = ['latency', 'ttft', 'outcomes', 'cost', 'breakers'];

  it('renders every chart offline, draws data on each canvas, and makes no network request', async () => {
    const { files } = await writeReports(makeJournal(), dir);
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, blocked, problems, violations } = await openOffline(browser, files.html, scheme);
      await page.waitForSelector('html[data-charts-ready="5"]', { timeout: 10_000 });
      for (const chart of CHARTS) {
        const pixels = await chartPixels(page, chart);
        // Axes and grid alone would match none of the data colours; a line or a bar covers hundreds.
        expect(pixels.data, `${chart} chart (${scheme}) has data pixels`).toBeGreaterThan(300);
      }
      expect(await page.locator('#verdict').textContent()).toContain('Failed');
      expect(await page.locator('table.hypotheses tbody tr').count()).toBe(10);
      await page.screenshot({ path: join(ARTIFACTS, `report-${scheme}.png`), fullPage: true });
      expect(blocked).toEqual([]);
      expect(await violations()).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    }
  }, 60_000);

  it('an empty canvas would fail the pixel check', async () => {
    // The same measurement on a chart whose data are all gaps: only axes and grid are drawn.
    const journal = makeJournal();
    for (const r of journal.requests) r.ttftMs = undefined;
    const { files } = await writeReports(
      { ...journal, scenario: { ...journal.scenario, name: 'no ttft' } },
      dir,
    );
    const { page, context } = await openOffline(browser, files.html);
    await page.waitForSelector('html[data-charts-ready="5"]');
    expect((await chartPixels(page, 'ttft')).data).toBeLessThan(50);
    expect((await chartPixels(page, 'latency')).data).toBeGreaterThan(300);
    await context.close();
  }, 60_000);

  it('shows a hostile scenario name as text and runs none of it', async () => {
    const journal = makeJournal({ name: NASTY, description: NASTY });
    journal.hypotheses[0]!.actual = NASTY;
    journal.faultWindows[0]!.target = NASTY;
    const { files } = await writeReports(journal, dir);
    const { page, context, blocked, problems, violations } = await openOffline(browser, files.html);
    await page.waitForSelector('html[data-charts-ready="5"]');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#scenario-name').textContent()).toBe(NASTY.replace('\uD800', '\uFFFD'));
    expect(await page.locator('h1 img, header script, main img').count()).toBe(0);
    expect(await page.title()).toContain('<img src=x');
    expect(blocked).toEqual([]);
    expect(await violations()).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('renders an interrupted run and the index page that links the reports', async () => {
    const journals = [makeJournal(), makeJournal({ name: 'Interrupted run', interruptAt: 0.45 })];
    for (const j of journals) await writeReports(j, dir);
    const { files } = await writeSummary(journals, dir);
    const { page, context, blocked, problems } = await openOffline(browser, files.html);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.locator('a', { hasText: 'Interrupted run' }).click();
    await page.waitForSelector('html[data-charts-ready="5"]');
    expect(await page.locator('#verdict').textContent()).toContain('Incomplete');
    for (const chart of ['latency', 'outcomes', 'breakers']) {
      expect((await chartPixels(page, chart)).data).toBeGreaterThan(300);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'report-incomplete.png'), fullPage: true });
    expect(blocked).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
