import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import { attemptContext, deployment, expectRouterAbort, FAKE_KEY } from './helpers.ts';

/**
 * An attempt that ends early must not leave the provider sending into a socket nobody reads (and
 * billing for it): the HTTP request is cancelled, when a consumer stops reading a stream and when the
 * router aborts a plain call. Real HTTP on loopback: a server that sends the start of an answer, then
 * stalls, and records when the client hangs up.
 */
const FIRST_EVENT: Record<'openai' | 'anthropic' | 'ollama', { type: string; body: string }> = {
  openai: {
    type: 'text/event-stream',
    body: `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] })}\n\n`,
  },
  anthropic: {
    type: 'text/event-stream',
    body: [
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } })}\n\n`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
      `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })}\n\n`,
    ].join(''),
  },
  ollama: {
    type: 'application/x-ndjson',
    body: `${JSON.stringify({ model: 'llama3.2', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: 'Hi' }, done: false })}\n`,
  },
};

let server: Server;
let origin: string;
const hangUps: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const provider = req.url?.startsWith('/api/')
      ? 'ollama'
      : req.url?.includes('/messages')
        ? 'anthropic'
        : 'openai';
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      // Ollama streams unless told not to; the others stream when asked to.
      const asked = (JSON.parse(body) as { stream?: boolean }).stream;
      const streamed = provider === 'ollama' ? asked !== false : asked === true;
      res.writeHead(200, { 'content-type': streamed ? FIRST_EVENT[provider].type : 'application/json' });
      res.write(streamed ? FIRST_EVENT[provider].body : '{"id":"stalled",');
      res.on('close', () => hangUps.push(`${provider} ${streamed ? 'streamed' : 'plain'}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const PROVIDERS = [
  ['openai', 'gpt-4.1', '/v1'],
  ['anthropic', 'claude-sonnet-4-6', ''],
  ['ollama', 'llama3.2', ''],
] as const;

async function hungUp(what: string): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  while (!hangUps.includes(what) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return hangUps;
}

describe('an attempt that ends early cancels its HTTP request (real HTTP)', () => {
  it.each(PROVIDERS)('%s: a stream the consumer stops reading', async (provider, model, path) => {
    const adapter = createAdapter(deployment({ provider, model, baseURL: `${origin}${path}` }), {
      apiKey: FAKE_KEY,
    });
    const events = adapter.stream({ messages: [{ role: 'user', content: 'hi' }] }, attemptContext().context);
    const seen: string[] = [];
    for await (const event of events) {
      seen.push(event.type);
      if (event.type === 'text-delta') break;
    }
    expect(seen).toContain('text-delta');
    expect(await hungUp(`${provider} streamed`)).toContain(`${provider} streamed`);
  });

  it.each(PROVIDERS)('%s: a plain call the router aborts during its body', async (provider, model, path) => {
    const adapter = createAdapter(deployment({ provider, model, baseURL: `${origin}${path}` }), {
      apiKey: FAKE_KEY,
    });
    const controller = new AbortController();
    const call = adapter.complete(
      { messages: [{ role: 'user', content: 'hi' }] },
      attemptContext({ signal: controller.signal, onResponseHeaders: () => controller.abort() }).context,
    );
    await expect(call).rejects.toMatchObject({ kind: 'cancelled' });
    expect(await hungUp(`${provider} plain`)).toContain(`${provider} plain`);
  });
});

describe('an attempt settles on its abort even when the fetch ignores its signal', () => {
  // A fetch that never answers and never looks at its signal: the attempt must not wait on it.
  const ignoresAborts = (() => new Promise<Response>(() => {})) as typeof fetch;

  it.each(PROVIDERS)('%s: plain and streamed', async (provider, model, path) => {
    const adapter = createAdapter(deployment({ provider, model, baseURL: `${origin}${path}` }), {
      apiKey: FAKE_KEY,
      fetch: ignoresAborts,
    });
    const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
    await expectRouterAbort((signal) => adapter.complete(request, attemptContext({ signal }).context));
    await expectRouterAbort(async (signal) => {
      for await (const _event of adapter.stream(request, attemptContext({ signal }).context)) {
        // No event arrives: the fetch never answers.
      }
    });
  });
});
