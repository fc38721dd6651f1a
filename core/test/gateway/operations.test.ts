import { request } from 'node:http';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, post, SLOW, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * Operations: health and readiness, draining on shutdown, a client that goes away aborting the
 * upstream call, loopback-only Host names, and the request id a caller sends carried upstream.
 */
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ask = [{ role: 'user' as const, content: 'Tell me a story.' }];
const openai = () => new OpenAI({ baseURL: `${t!.url}/v1`, apiKey: 'unused', maxRetries: 0 });

/** Reads an OpenAI SSE stream to the end; returns the text and whether it ended with [DONE]. */
async function readStream(response: Response): Promise<{ text: string; done: boolean; errored: boolean }> {
  const body = await response.text();
  let text = '';
  let errored = false;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const data = JSON.parse(line.slice(6));
    if (data.error) errored = true;
    text += data.choices?.[0]?.delta?.content ?? '';
  }
  return { text, done: body.includes('data: [DONE]'), errored };
}

describe('health', () => {
  it('/healthz and /readyz answer; unknown paths and methods get 404 and 405', async () => {
    t = await startTestGateway();
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${t.url}/v2/nothing`)).status).toBe(404);
    expect((await fetch(`${t.url}/v1/chat/completions`)).status).toBe(405);
  });
});

describe('SIGTERM: stop accepting, drain in-flight streams up to a deadline, exit', () => {
  it('a stream in flight runs to its end; the listener is closed at once', async () => {
    t = await startTestGateway({ latency: SLOW });
    const inFlight = post(`${t.url}/v1/chat/completions`, {
      model: 'chat',
      messages: ask,
      max_tokens: 25,
      stream: true,
    });
    const response = await inFlight;
    expect(response.status).toBe(200);
    await eventually(() => t!.gateway.inFlight === 1);
    const closing = t.gateway.close(10_000);
    // Not accepting any more: a new connection is refused.
    await expect(fetch(`${t.url}/healthz`, { headers: { connection: 'close' } })).rejects.toThrow();
    const { text, done, errored } = await readStream(response);
    expect(done).toBe(true);
    expect(errored).toBe(false);
    expect(text.length).toBeGreaterThan(0);
    await closing;
  });

  it('past the deadline what is left is cut, with an error event, and close resolves', async () => {
    t = await startTestGateway({ latency: SLOW });
    const response = await post(`${t.url}/v1/chat/completions`, {
      model: 'chat',
      messages: ask,
      max_tokens: 400,
      stream: true,
    });
    await eventually(() => t!.gateway.inFlight === 1);
    const started = Date.now();
    await t.gateway.close(300);
    expect(Date.now() - started).toBeLessThan(3_000);
    const { done, errored } = await readStream(response);
    expect(done).toBe(false);
    expect(errored).toBe(true);
  });
});

describe('a client that disconnects aborts the upstream call', () => {
  it.each([false, true])('stream: %s', async (stream) => {
    t = await startTestGateway({ latency: SLOW });
    const controller = new AbortController();
    const call = openai().chat.completions.create(
      { model: 'chat', messages: ask, max_tokens: 400, stream },
      { signal: controller.signal },
    );
    if (stream) {
      const iterator = ((await call) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      await iterator.next();
    } else {
      await eventually(() => t!.upstream.length === 1);
      call.catch(() => {});
    }
    controller.abort();
    await eventually(() => t!.upstream[0]!.signal.aborted);
    await eventually(() => t!.logs.length === 1);
    expect(t.logs[0]).toMatchObject({ outcome: 'error', error: { code: 'cancelled' } });
    expect(t.upstream).toHaveLength(1);
  });
});

describe('loopback binds answer only to loopback Host names', () => {
  const withHost = (url: string, host: string) =>
    new Promise<number | undefined>((resolve, reject) => {
      request(`${url}/healthz`, { headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });

  it('a rebinding name is refused; localhost and 127.0.0.1 are served', async () => {
    t = await startTestGateway();
    const port = t.gateway.port;
    expect(await withHost(t.url, `attacker.example:${port}`)).toBe(403);
    expect(await withHost(t.url, `localhost:${port}`)).toBe(200);
    expect(await withHost(t.url, `127.0.0.1:${port}`)).toBe(200);
  });
});

describe('x-switchyard-request-id', () => {
  it.each([false, true])(
    'a caller’s id is returned and forwarded on every upstream attempt (stream: %s)',
    async (stream) => {
      t = await startTestGateway({ rules: [{ fault: 'server_error', injection: { firstN: 1 } }] });
      const response = await post(
        `${t.url}/v1/chat/completions`,
        { model: 'chat', messages: ask, max_tokens: 10, stream },
        { 'x-switchyard-request-id': 'grader-0042' },
      );
      expect(response.headers.get('x-switchyard-request-id')).toBe('grader-0042');
      await response.text();
      // The first attempt failed and was retried: both carry the id, and the trace is that request's.
      expect(t.upstream.map((r) => r.headers.get('x-switchyard-request-id'))).toEqual([
        'grader-0042',
        'grader-0042',
      ]);
      await eventually(() => t!.logs.length === 1);
      expect(t.logs[0]).toMatchObject({ requestId: 'grader-0042', outcome: 'success' });
      expect((t.logs[0]!.attempts as unknown[]).length).toBe(2);
    },
  );

  it('an id that does not look like one is replaced', async () => {
    t = await startTestGateway();
    const response = await fetch(`${t.url}/healthz`, { headers: { 'x-switchyard-request-id': 'a b<c>' } });
    expect(response.headers.get('x-switchyard-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
