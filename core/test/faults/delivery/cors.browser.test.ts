import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChaosProxy, startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { launchChromium } from '../../reports/browser-helpers.ts';

/**
 * The official `openai` SDK in a real browser (Debian's Chromium, headless), on a page of another
 * origin, calling the chaos proxy: with `cors` on it gets its answer (preflight, x-stainless-*
 * headers and all); without it the browser blocks the call.
 */
let browser: Browser;
let page: Server;
let pageOrigin: string;
let bundle: string;

beforeAll(async () => {
  const built = await build({
    stdin: {
      contents: "import OpenAI from 'openai'; globalThis.OpenAI = OpenAI;",
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  bundle = built.outputFiles[0]!.text;
  page = createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title><script src="/sdk.js"></script>');
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => page?.close(resolve));
});

async function callFromPage(proxy: ChaosProxy): Promise<{ text?: string; error?: string }> {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(pageOrigin);
    return await tab.evaluate(async (baseURL) => {
      const OpenAI = (globalThis as unknown as { OpenAI: typeof import('openai').default }).OpenAI;
      const client = new OpenAI({
        apiKey: 'sk-test-not-a-real-key',
        baseURL,
        dangerouslyAllowBrowser: true,
        maxRetries: 0,
      });
      try {
        const completion = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Hello from a browser' }],
        });
        return { text: completion.choices[0]?.message.content ?? '' };
      } catch (error) {
        return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
      }
    }, `${proxy.url}/v1`);
  } finally {
    await context.close();
  }
}

describe('a browser client (the openai SDK in Chromium) and CORS', () => {
  it('with cors on, the SDK on another origin gets its answer', async () => {
    const proxy = await startChaosProxy({
      seed: 5,
      mode: 'simulate',
      cors: true,
      simulator: { latency: { '*': ZERO_LATENCY } },
    });
    try {
      const result = await callFromPage(proxy);
      expect(result.error).toBeUndefined();
      expect(result.text!.length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });

  it('without it, the browser blocks the call', async () => {
    const proxy = await startChaosProxy({
      seed: 5,
      mode: 'simulate',
      simulator: { latency: { '*': ZERO_LATENCY } },
    });
    try {
      const result = await callFromPage(proxy);
      expect(result.error).toMatch(/APIConnectionError/);
    } finally {
      await proxy.close();
    }
  });
});
