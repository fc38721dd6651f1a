/**
 * What a web page, a neighbour on the network or a hostile request can do to the chaos proxy: the
 * admin API wants a token, a loopback Host and no cross-site Origin; forward mode never passes on a
 * provider's model-management endpoints; malformed targets and slow headers get the right status.
 * Real sockets on loopback, requests by node:http (fetch cannot set Host).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_HEADER } from '../../../src/faults/delivery/admin-guard.ts';
import {
  type ChaosProxy,
  type ChaosProxyOptions,
  startChaosProxy,
} from '../../../src/faults/delivery/proxy-server.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { KEY } from '../chaos/helpers.ts';

/** One HTTP exchange with the proxy, any headers allowed (Host included). */
function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const options = { hostname, port, method, path, headers: { ...length, ...headers } };
    const req = httpRequest(options, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const simulated = (options: Partial<ChaosProxyOptions> = {}) =>
  startChaosProxy({ seed: 1, mode: 'simulate', simulator: { latency: { '*': ZERO_LATENCY } }, ...options });

const chatBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
const chatHeaders = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

describe('the admin API', () => {
  let proxy: ChaosProxy;
  beforeAll(async () => {
    proxy = await simulated();
  });
  afterAll(() => proxy.close());
  const bearer = () => ({ authorization: `Bearer ${proxy.adminToken}` });
  const total = async () =>
    JSON.parse((await send(proxy.url, 'GET', '/__switchyard/counters', bearer())).body).requests
      .total as number;

  it('has a generated token, and every call needs it (as a bearer token or its own header)', async () => {
    expect(proxy.adminToken).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    for (const path of ['rules', 'counters']) {
      const refused = await send(proxy.url, 'GET', `/__switchyard/${path}`);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body).error.type).toBe('unauthorized');
    }
    expect(
      (await send(proxy.url, 'POST', '/__switchyard/reset', { authorization: 'Bearer nope' })).status,
    ).toBe(401);
    expect((await send(proxy.url, 'GET', '/__switchyard/rules', bearer())).status).toBe(200);
    expect(
      (await send(proxy.url, 'GET', '/__switchyard/rules', { [ADMIN_TOKEN_HEADER]: proxy.adminToken }))
        .status,
    ).toBe(200);
    // An unknown admin path is refused before it is looked up.
    expect((await send(proxy.url, 'GET', '/__switchyard/nothing-here')).status).toBe(401);
  });

  it('refuses a foreign Host even with the token (DNS rebinding)', async () => {
    const rules = JSON.stringify([{ fault: 'server_error' }]);
    const rebound = await send(
      proxy.url,
      'PUT',
      '/__switchyard/rules',
      { ...bearer(), host: `attacker.example:${proxy.port}`, 'content-type': 'application/json' },
      rules,
    );
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.type).toBe('forbidden_host');
    expect(proxy.chaos.rules()).toEqual([]);
    for (const host of [`127.0.0.1:${proxy.port}`, `localhost:${proxy.port}`, 'localhost']) {
      expect((await send(proxy.url, 'GET', '/__switchyard/rules', { ...bearer(), host })).status).toBe(200);
    }
  });

  it('refuses a cross-site Origin, and a text/plain cross-origin POST does not reset anything', async () => {
    await send(proxy.url, 'POST', '/v1/chat/completions', chatHeaders, chatBody);
    const before = await total();
    expect(before).toBeGreaterThan(0);
    // What a page on another site can send without a preflight: no token, text/plain.
    const simple = await send(
      proxy.url,
      'POST',
      '/__switchyard/reset',
      { origin: 'https://attacker.example', 'content-type': 'text/plain' },
      'x',
    );
    expect(simple.status).toBe(403);
    // Even a page that somehow had the token is refused by its Origin.
    const withToken = await send(proxy.url, 'POST', '/__switchyard/reset', {
      ...bearer(),
      origin: 'https://attacker.example',
    });
    expect(withToken.status).toBe(403);
    expect(JSON.parse(withToken.body).error.type).toBe('cross_origin');
    expect(
      (await send(proxy.url, 'GET', '/__switchyard/rules', { ...bearer(), 'sec-fetch-site': 'cross-site' }))
        .status,
    ).toBe(403);
    expect(await total()).toBe(before);
    // The proxy's own origin is fine.
    const same = await send(proxy.url, 'POST', '/__switchyard/reset', { ...bearer(), origin: proxy.url });
    expect(same.status).toBe(200);
    expect(await total()).toBe(0);
  });

  it('a rule with a bad header match is refused with 400, and the proxy keeps answering', async () => {
    const put = (rules: unknown) =>
      send(
        proxy.url,
        'PUT',
        '/__switchyard/rules',
        { ...bearer(), 'content-type': 'application/json' },
        JSON.stringify(rules),
      );
    for (const headers of [{ 'x-tenant': 5 }, { 'bad header': 'x' }]) {
      const refused = await put([{ fault: 'server_error', target: { match: { headers } } }]);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).error.type).toBe('invalid_rules');
    }
    expect((await put([{ fault: 'rate_limit', params: { toString: 1 } }])).status).toBe(400);
    const answer = await send(proxy.url, 'POST', '/v1/chat/completions', chatHeaders, chatBody);
    expect(answer.status).toBe(200);
  });
});

describe('statuses for bad requests', () => {
  let proxy: ChaosProxy;
  beforeAll(async () => {
    proxy = await simulated({ headersTimeoutMs: 300 });
  });
  afterAll(() => proxy.close());

  it('a malformed percent-escape in a model path is a 400, not a 500', async () => {
    for (const headers of [chatHeaders, { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }]) {
      const response = await send(proxy.url, 'GET', '/v1/models/%E0%A4%A', headers);
      expect(response.status).toBe(400);
      expect(response.body).not.toMatch(/URIError/);
    }
    expect((await send(proxy.url, 'GET', '/v1/models/gpt-4o-mini', chatHeaders)).status).toBe(200);
  });

  it('headers that never finish get 408 Request Timeout', async () => {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: ');
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    await new Promise((resolve) => socket.once('close', resolve));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  }, 10_000);
});

describe('forward mode and model management', () => {
  let upstream: Server;
  let origin: string;
  const reached: string[] = [];
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"success"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  const MANAGEMENT = [
    ['DELETE', '/api/delete'],
    ['POST', '/api/pull'],
    ['POST', '/api/push'],
    ['POST', '/api/create'],
    ['POST', '/api/copy'],
    ['POST', '/api/blobs/sha256:abc'],
    ['DELETE', '/v1/models/ft:gpt-4o-mini:acme::abc'],
  ] as const;

  it('never passes them on unless allowed; generation still goes through', async () => {
    const proxy = await startChaosProxy({
      seed: 1,
      mode: 'forward',
      upstreams: { ollama: origin, openai: origin },
    });
    reached.length = 0;
    try {
      for (const [method, path] of MANAGEMENT) {
        const response = await send(
          proxy.url,
          method,
          path,
          { 'content-type': 'application/json' },
          '{"model":"x"}',
        );
        expect(response.status, `${method} ${path} ${response.body}`).toBe(403);
        expect(JSON.parse(response.body).error.type).toBe('model_management_not_forwarded');
      }
      expect(reached).toEqual([]);
      const chat = await send(
        proxy.url,
        'POST',
        '/api/chat',
        { 'content-type': 'application/json' },
        '{"model":"x"}',
      );
      expect(chat.status).toBe(200);
      expect(reached).toEqual(['POST /api/chat']);
    } finally {
      await proxy.close();
    }
    const open = await startChaosProxy({
      seed: 1,
      mode: 'forward',
      upstreams: { ollama: origin, openai: origin },
      forwardModelManagement: true,
    });
    reached.length = 0;
    try {
      for (const [method, path] of MANAGEMENT) {
        expect(
          (await send(open.url, method, path, { 'content-type': 'application/json' }, '{}')).status,
        ).toBe(200);
      }
      expect(reached).toHaveLength(MANAGEMENT.length);
    } finally {
      await open.close();
    }
  });
});
