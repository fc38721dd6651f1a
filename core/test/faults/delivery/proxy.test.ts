import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChaos } from '../../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { type ChaosProxy, startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import { fastSimulator, KEY } from '../chaos/helpers.ts';

const fast = { latency: { '*': ZERO_LATENCY } };
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello' }] };
const message = {
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};
const jsonHeaders = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

const openaiAt = (proxy: ChaosProxy, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
  new OpenAI({ apiKey: KEY, baseURL: `${proxy.url}/v1`, maxRetries: 0, ...extra });
const anthropicAt = (proxy: ChaosProxy) => new Anthropic({ apiKey: KEY, baseURL: proxy.url, maxRetries: 0 });

async function admin(proxy: ChaosProxy, method: string, name: string, body?: unknown) {
  const response = await fetch(`${proxy.url}/__switchyard/${name}`, {
    method,
    headers: { authorization: `Bearer ${proxy.adminToken}` },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** A third-party client: plain fetch and a hand-written SSE parser (not our code, not an SDK). */
function parseSse(text: string): Array<{ event: string | undefined; data: string }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      return { event, data: data.join('\n') };
    });
}

let proxy: ChaosProxy;
beforeAll(async () => {
  proxy = await startChaosProxy({ seed: 3, mode: 'simulate', simulator: fast, maxBodyBytes: 64 * 1024 });
});
afterEach(() => {
  proxy.chaos.setRules([]);
  proxy.chaos.reset();
});
afterAll(() => proxy.close());

describe('chaos proxy (simulate mode) over a loopback socket', () => {
  it('binds 127.0.0.1 on a free port and serves all three SDKs', async () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const completion = await openaiAt(proxy).chat.completions.create(chat);
    expect(completion.object).toBe('chat.completion');
    const reply = await anthropicAt(proxy).messages.create(message);
    expect(reply.type).toBe('message');
    const ollama = new Ollama({ host: proxy.url });
    const answer = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }] });
    expect(answer.done).toBe(true);
  });

  it('connection_reset is a real RST: the SDKs report APIConnectionError', async () => {
    proxy.chaos.setRules([{ fault: 'connection_reset' }]);
    const error = await openaiAt(proxy)
      .chat.completions.create(chat)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(
      JSON.stringify((error as Error).cause, Object.getOwnPropertyNames((error as Error).cause)),
    ).toContain('ECONNRESET');
    await expect(anthropicAt(proxy).messages.create(message)).rejects.toBeInstanceOf(
      Anthropic.APIConnectionError,
    );
  });

  it('connection_refused and half_close: the connection ends without a response', async () => {
    for (const fault of ['connection_refused', 'half_close'] as const) {
      proxy.chaos.setRules([{ fault }]);
      await expect(openaiAt(proxy).chat.completions.create(chat)).rejects.toBeInstanceOf(
        OpenAI.APIConnectionError,
      );
    }
  });

  it('no_response: the SDK header timeout fires and the proxy lets the connection go', async () => {
    proxy.chaos.setRules([{ fault: 'no_response' }]);
    const client = openaiAt(proxy, { timeout: 300 });
    await expect(client.chat.completions.create(chat)).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
  });

  it('an abrupt stream cut tears the socket down: the SDK throws instead of ending silently', async () => {
    proxy.chaos.setRules([{ fault: 'stream_cut', params: { afterChunks: 2, abrupt: true } }]);
    const stream = await openaiAt(proxy).chat.completions.create({ ...chat, stream: true });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });

  it('stall_after_headers: status and headers arrive at once, the body never does', async () => {
    proxy.chaos.setRules([{ fault: 'stall_after_headers', params: { afterChunks: 1 } }]);
    const controller = new AbortController();
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: jsonHeaders,
      body: JSON.stringify({ ...chat, stream: true }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: /);
    const stalled = reader.read();
    const winner = await Promise.race([
      stalled.then(() => 'data'),
      new Promise((r) => setTimeout(r, 150, 'stall')),
    ]);
    expect(winner).toBe('stall');
    controller.abort();
    await expect(stalled).rejects.toThrow();
  });

  it('byte_by_byte: the body arrives in many small writes, intact', async () => {
    proxy.chaos.setRules([{ fault: 'byte_by_byte', params: { delayMs: 3 } }]);
    const response = await fetch(`${proxy.url}/api/version`);
    const reader = response.body!.getReader();
    let reads = 0;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += new TextDecoder().decode(value);
    }
    expect(JSON.parse(text).version).toEqual(expect.any(String));
    expect(reads).toBeGreaterThan(text.length / 2);
  });

  it('admin endpoints change rules at run time, count, and reset', async () => {
    expect(await admin(proxy, 'GET', 'rules')).toEqual({ status: 200, body: { faults: [] } });
    // The one rule format: a serve config's (and a scenario's) fault entries.
    const faults = [{ id: 'rl', fault: 'rate_limit', target: { provider: 'openai' }, firstN: 1 }];
    expect((await admin(proxy, 'PUT', 'rules', { faults })).status).toBe(200);
    const limited = await openaiAt(proxy)
      .chat.completions.create(chat)
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    // The delay headers survive the socket hop.
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after-ms')).toBe(
      '1000',
    );
    await expect(openaiAt(proxy).chat.completions.create(chat)).resolves.toBeDefined();
    const counters = await admin(proxy, 'GET', 'counters');
    expect(counters.body).toMatchObject({
      requests: { total: 2, byProvider: { openai: 2 } },
      injected: { total: 1, byRule: { rl: 1 }, byTarget: { 'openai/gpt-4o-mini': { rate_limit: 1 } } },
    });
    expect((await admin(proxy, 'POST', 'reset')).body).toEqual({ ok: true });
    expect((await admin(proxy, 'GET', 'counters')).body.requests.total).toBe(0);
    // After the reset firstN counts from zero again.
    await expect(openaiAt(proxy).chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('admin endpoints reject bad input with clear 4xx JSON', async () => {
    const bad = await admin(proxy, 'PUT', 'rules', { faults: [{ fault: 'meteor_strike' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe('invalid_rules');
    expect(bad.body.error.message).toMatch(/^faults\[0\]\.fault: /);
    // The plan's internal shape (`injection: {…}`) is not a second format.
    const internal = await admin(proxy, 'PUT', 'rules', {
      faults: [{ fault: 'rate_limit', injection: { firstN: 1 } }],
    });
    expect(internal.body.error.message).toMatch(/^faults\[0\]: .*injection/);
    expect((await admin(proxy, 'PUT', 'rules', '{not json')).body.error.type).toBe('invalid_json');
    expect((await admin(proxy, 'DELETE', 'rules')).status).toBe(405);
    expect((await admin(proxy, 'GET', 'nothing-here')).status).toBe(404);
    expect((await admin(proxy, 'GET', 'rules')).body.faults).toEqual([]);
  });

  it('413 for oversized bodies, declared or streamed in chunks', async () => {
    const big = JSON.stringify({ ...chat, messages: [{ role: 'user', content: 'x'.repeat(70_000) }] });
    const declared = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: jsonHeaders,
      body: big,
    });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.type).toBe('request_too_large');

    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${proxy.url}/v1/chat/completions`,
        { method: 'POST', headers: jsonHeaders },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // No content-length: chunked; the proxy must count as it reads.
      for (let i = 0; i < 10; i++) req.write('x'.repeat(10_000));
      req.end();
    });
    expect(status).toBe(413);
    expect(proxy.chaos.counters().requests.total).toBe(0);
  });

  it('malformed requests get a clear 4xx and the proxy keeps serving', async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(proxy.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => resolve(data));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    const notJson = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: jsonHeaders,
      body: '{"model": "gpt-4o-mini", "messages": [',
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toBeDefined();
    await expect(openaiAt(proxy).chat.completions.create(chat)).resolves.toBeDefined();
  });

  it('curl (a client that is not ours) gets the injected failure', async () => {
    proxy.chaos.setRules([{ fault: 'overloaded', target: { provider: 'anthropic' } }]);
    const out = await new Promise<string | undefined>((resolve) => {
      execFile(
        'curl',
        [
          '-sS',
          '-X',
          'POST',
          `${proxy.url}/v1/messages`,
          '-H',
          'content-type: application/json',
          '-H',
          `x-api-key: ${KEY}`,
          '-H',
          'anthropic-version: 2023-06-01',
          '-d',
          JSON.stringify(message),
          '-w',
          '\n%{http_code}',
        ],
        (error, stdout) =>
          resolve(error && (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : stdout),
      );
    });
    if (out === undefined) return; // curl not installed here
    const [body, status] = out.split('\n');
    expect(status).toBe('529');
    expect(JSON.parse(body!).error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
  });
});

describe('same seed, same bytes: proxy vs in-process handler', () => {
  const rules: FaultRule[] = [
    { fault: 'stream_error_event', target: { provider: 'anthropic' }, params: { afterChunks: 4 } },
    { fault: 'stream_cut', target: { provider: 'openai' }, injection: { everyNth: 2 } },
  ];
  const requests = [
    ['/v1/chat/completions', { ...chat, stream: true }],
    ['/v1/chat/completions', { ...chat, stream: true }],
    ['/v1/messages', { ...message, stream: true }],
  ] as const;
  const headers = { ...jsonHeaders, 'anthropic-version': '2023-06-01' };

  it('a plain fetch + hand-written SSE parser sees identical bytes', async () => {
    const clock = new VirtualClock();
    const simulator = fastSimulator(21, clock);
    const inProcess = createChaos({ clock, seed: 21, rules, upstream: (r) => simulator.handle(r) });
    const overSocket = await startChaosProxy({
      seed: 21,
      clock: new VirtualClock(),
      rules,
      mode: 'simulate',
      simulator: fast,
    });
    try {
      for (const [path, body] of requests) {
        const init = { method: 'POST', headers, body: JSON.stringify(body) };
        const local = await (await inProcess.handle(new Request(`http://in-process${path}`, init))).text();
        const remote = await (await fetch(`${overSocket.url}${path}`, init)).text();
        expect(remote).toBe(local);
        expect(parseSse(remote)).toEqual(parseSse(local));
      }
      const second = parseSse(
        await (
          await inProcess.handle(
            new Request('http://x/v1/chat/completions', {
              method: 'POST',
              headers,
              body: JSON.stringify({ ...chat, stream: true }),
            }),
          )
        ).text(),
      );
      expect(second.at(-1)?.data).toBe('[DONE]');
      expect(overSocket.chaos.counters().injected).toEqual(inProcess.counters().injected);
    } finally {
      await overSocket.close();
    }
  });
});

describe('forward mode', () => {
  let upstream: ChaosProxy;
  let forward: ChaosProxy;
  const seen: Array<{ path: string; authorization: string | null }> = [];

  beforeAll(async () => {
    // The "real provider" stand-in: a simulator on its own socket that records what reached it.
    const clock = new VirtualClock();
    const simulator = fastSimulator(5, clock);
    upstream = await startChaosProxy({
      seed: 5,
      mode: 'simulate',
      upstream: (request) => {
        seen.push({
          path: new URL(request.url).pathname,
          authorization: request.headers.get('authorization'),
        });
        return simulator.handle(request);
      },
    });
    forward = await startChaosProxy({ seed: 5, mode: 'forward', upstreams: { openai: upstream.url } });
  });
  afterAll(async () => {
    await forward.close();
    await upstream.close();
  });

  it('forwards to the configured upstream with the headers intact, faults applied on the way', async () => {
    const completion = await openaiAt(forward).chat.completions.create(chat);
    expect(completion.object).toBe('chat.completion');
    expect(seen.at(-1)).toEqual({ path: '/v1/chat/completions', authorization: `Bearer ${KEY}` });
    forward.chaos.setRules([{ fault: 'truncated_answer', params: { maxChars: 5 } }]);
    const cut = await openaiAt(forward).chat.completions.create(chat);
    expect(cut.choices[0]?.message.content).toHaveLength(5);
    expect(cut.choices[0]?.finish_reason).toBe('length');
    forward.chaos.setRules([]);
  });

  it('refuses providers without an upstream and paths no provider serves', async () => {
    const before = seen.length;
    const ollama = await fetch(`${forward.url}/api/chat`, { method: 'POST', body: '{}' });
    expect(ollama.status).toBe(403);
    expect((await ollama.json()).error.type).toBe('upstream_not_configured');
    const unknown = await fetch(`${forward.url}/latest/meta-data`);
    expect(unknown.status).toBe(404);
    expect(seen.length).toBe(before);
  });

  it('an absolute-form request target cannot choose the upstream host', async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(forward.port, '127.0.0.1', () =>
        socket.write(
          'GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nhost: 169.254.169.254\r\nconnection: close\r\n\r\n',
        ),
      );
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => resolve(data));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 404/);
  });
});
