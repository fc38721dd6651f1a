import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/reports/write.ts';
import { defineScenario, type RunJournal, runScenario } from '../../src/scenarios/index.ts';
import { CHROMIUM, chartPixels, launchChromium, openOffline } from './browser-helpers.ts';

/**
 * The HTML report of a real run (not a hand-made journal): a small scenario in the shape of the
 * shipped ones runs on the virtual clock, its reports are written, and the page is opened in Debian's
 * Chromium with the network cut off. Every chart must draw its data, and the verdict and the
 * hypothesis table must say what the journal says. Skipped only when Chromium is missing and
 * SWITCHYARD_REQUIRE_BROWSER is unset; CI sets it, so a missing browser fails there.
 */
const hasChromium = existsSync(CHROMIUM);
const requireBrowser = Boolean(process.env.SWITCHYARD_REQUIRE_BROWSER);
if (!hasChromium && !requireBrowser) {
  console.warn(
    `[reports] skipping the run-report browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`,
  );
}

const ARTIFACTS = resolve(fileURLToPath(new URL('../../../reports/test-artifacts', import.meta.url)));
const CHARTS = ['latency', 'ttft', 'outcomes', 'cost', 'breakers'];
const VERDICT_TEXT = { passed: 'Passed', failed: 'Failed', incomplete: 'Incomplete' } as const;

/** Like scenarios/provider-outage-failover.yaml, smaller: OpenAI down for 30 s, Anthropic takes over. */
const outage = defineScenario({
  name: 'run-report-outage',
  description: 'OpenAI answers 503 for 30 s; the breaker opens and Anthropic carries the traffic.',
  seed: 21,
  router: {
    deployments: [
      { id: 'openai/gpt-4.1', provider: 'openai', model: 'gpt-4.1' },
      { id: 'anthropic/claude-sonnet-4-6', provider: 'anthropic', model: 'claude-sonnet-4-6' },
    ],
    routes: [{ name: 'chat', deployments: ['openai/gpt-4.1'], fallbacks: ['anthropic/claude-sonnet-4-6'] }],
    policies: { breaker: { consecutiveFailures: 5, openMs: 10_000 } },
  },
  load: { rate: 2, duration: '100s', streamShare: 0.3, maxOutputTokens: [32, 96] },
  faults: [
    {
      id: 'openai-down',
      fault: 'service_unavailable',
      target: { provider: 'openai' },
      from: '30s',
      to: '60s',
    },
  ],
  hypotheses: [
    { id: 'survives', type: 'success_rate', atLeast: 0.99 },
    { id: 'breaker', type: 'breaker_opens_within', failures: 5 },
    {
      id: 'fails-over',
      type: 'fallback_path',
      phase: 'during',
      deployment: 'anthropic/claude-sonnet-4-6',
      atLeast: 0.9,
    },
    { id: 'p95', type: 'latency', percentile: 'p95', atMost: '30s' },
    // Held to fail on purpose: the table must show a failed row next to the passed ones.
    { id: 'never-falls-back', type: 'fallback_path', path: ['openai/gpt-4.1'] },
  ],
});

describe.skipIf(!hasChromium && !requireBrowser)('HTML report of a real run, in Chromium', () => {
  let browser: Browser;
  let dir: string;
  let journal: RunJournal;
  let html: string;

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(`SWITCHYARD_REQUIRE_BROWSER is set but ${CHROMIUM} is missing: install chromium`);
    journal = await runScenario(outage);
    dir = await mkdtemp(join(tmpdir(), 'switchyard-run-report-'));
    html = (await writeReports(journal, dir)).files.html;
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ran the scenario for real: ~200 requests, a fault window, a breaker that opened', () => {
    expect(journal.status).toBe('complete');
    expect(journal.requests.length).toBeGreaterThan(150);
    expect(journal.requests.length).toBeLessThan(260);
    expect(journal.faultWindows).toHaveLength(1);
    expect(journal.breakerTransitions.some((t) => t.to === 'open')).toBe(true);
    expect(journal.requests.some((r) => r.stream && r.ttftMs !== undefined)).toBe(true);
    expect(journal.hypotheses.some((h) => h.passed)).toBe(true);
    expect(journal.hypotheses.some((h) => !h.passed)).toBe(true);
  });

  it('draws every chart, offline, and shows the verdict and hypotheses of the journal', async () => {
    const { page, context, blocked, problems } = await openOffline(browser, html);
    await page.waitForSelector(`html[data-charts-ready="${CHARTS.length}"]`, { timeout: 10_000 });
    for (const chart of CHARTS) {
      const pixels = await chartPixels(page, chart);
      expect(pixels.nonBackground, `${chart}: something drawn`).toBeGreaterThan(0);
      // Axes and grid alone match none of the data colours; a line, a band or a bar covers hundreds.
      expect(pixels.data, `${chart}: data drawn`).toBeGreaterThan(100);
    }

    expect(await page.locator('#verdict').textContent()).toContain(VERDICT_TEXT[journal.verdict]);
    const rows = page.locator('table.hypotheses tbody tr');
    expect(await rows.count()).toBe(journal.hypotheses.length);
    for (const [i, h] of journal.hypotheses.entries()) {
      const cells = rows.nth(i).locator('td');
      expect(await cells.nth(0).textContent(), `${h.id} result`).toBe(h.passed ? '✓ pass' : '✗ fail');
      expect(await cells.nth(1).textContent()).toBe(h.phase);
      expect(await cells.nth(2).textContent()).toContain(h.id);
      expect(await cells.nth(3).textContent()).toBe(h.expected);
      expect(await cells.nth(4).textContent()).toBe(h.actual);
    }

    await page.screenshot({ path: join(ARTIFACTS, 'run-report.png'), fullPage: true });
    expect(blocked).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
