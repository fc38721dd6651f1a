import type { Browser, Page } from 'playwright-core';

/**
 * Opening a report in Debian's Chromium, headless, from file:// with every other request refused,
 * and measuring what a chart drew. The same steps as html.browser.test.ts, shared for new tests.
 */
export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Opens a file with the network cut off; returns what the page tried to reach and what went wrong. */
export async function openOffline(browser: Browser, path: string, colorScheme: 'light' | 'dark' = 'light') {
  const { pathToFileURL } = await import('node:url');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  const blocked: string[] = [];
  const problems: string[] = [];
  await page.route('**', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  // CSP violations would also stop a load before it reaches the router: record them too.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __violations: string[] }).__violations ??= [];
      (window as unknown as { __violations: string[] }).__violations.push(
        `${e.violatedDirective} ${e.blockedURI}`,
      );
    });
  });
  await page.goto(pathToFileURL(path).href);
  const violations = () =>
    page.evaluate(() => (window as unknown as { __violations?: string[] }).__violations ?? []);
  return { page, context, blocked, problems, violations };
}

/**
 * What a chart's canvas holds: pixels in one of the colours only its data is drawn with, and pixels
 * that differ from the canvas's background (its top-left corner, outside the plot area).
 */
export async function chartPixels(
  page: Page,
  chart: string,
): Promise<{ data: number; nonBackground: number; total: number }> {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-chart="${id}"]`)!;
    const canvas = el.querySelector('canvas')!;
    const colors = (JSON.parse(el.getAttribute('data-colors') ?? '[]') as string[]).map((c) => {
      // Resolve any CSS colour to RGB through a 1×1 canvas.
      const probe = document.createElement('canvas').getContext('2d')!;
      probe.fillStyle = c;
      probe.fillRect(0, 0, 1, 1);
      return Array.from(probe.getImageData(0, 0, 1, 1).data.slice(0, 4));
    });
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const bg = Array.from(data.slice(0, 4));
    let matching = 0;
    let nonBackground = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (
        Math.abs(data[i]! - bg[0]!) +
          Math.abs(data[i + 1]! - bg[1]!) +
          Math.abs(data[i + 2]! - bg[2]!) +
          Math.abs(data[i + 3]! - bg[3]!) >
        0
      )
        nonBackground++;
      if (data[i + 3]! < 200) continue;
      for (const [r, g, b] of colors) {
        if (Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 40) {
          matching++;
          break;
        }
      }
    }
    return { data: matching, nonBackground, total: canvas.width * canvas.height };
  }, chart);
}
