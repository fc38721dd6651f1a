/**
 * Forward mode against a real upstream: a node:http server on loopback standing in for the provider,
 * real HTTP requests to the proxy. Most requests here match no fault rule, so they take the proxy's
 * socket-to-socket fast path (`passThrough`); a few carry a fault, to show rules still apply.
 */
import { once } from 'node:events';
import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InjectionEvent } from '../../../src/faults/chaos/engine.ts';
import { type ChaosProxy, startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { KEY } from '../chaos/helpers.ts';

const PATH = '/v1/chat/completions';
const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });
const completion = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'Hello there, friend' }, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
});

/** What reached the upstream. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const answer: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) });
  res.end(req.method === 'HEAD' ? undefined : completion);
};

let handler: Handler = answer;
const seen: Seen[] = [];
/** Upstream responses, so a test that fails half-way leaves no exchange hanging. */
const exchanges = new Set<ServerResponse>();
const injected: InjectionEvent[] = [];
let upstream: Server;
let upstreamHost: string;
let proxy: ChaosProxy;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    exchanges.add(res);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      handler(req, res);
    });
  });
  upstreamHost = `127.0.0.1:${await listen(upstream)}`;
  proxy = await startChaosProxy({
    seed: 1,
    mode: 'forward',
    // A path prefix with a trailing slash: kept, without doubling the slash.
    upstreams: { openai: `http://${upstreamHost}/prefix/` },
    maxBodyBytes: 1024,
    onInject: (event) => injected.push(event),
  });
});
afterEach(() => {
  for (const res of exchanges) if (!res.writableFinished) res.destroy();
  exchanges.clear();
  handler = answer;
  seen.length = 0;
  injected.length = 0;
  proxy.chaos.setRules([]);
  proxy.chaos.reset();
});
afterAll(async () => {
  await proxy.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

interface SendOptions {
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | undefined;
  /** Default: a fresh connection per request (no keep-alive state shared between tests). */
  agent?: Agent | false;
  base?: string;
}

/** A plain node:http request to the proxy; `response` settles on the response head. */
function send(options: SendOptions = {}): { request: ClientRequest; response: Promise<IncomingMessage> } {
  const method = options.method ?? 'POST';
  const body = options.body ?? (method === 'POST' ? chat : undefined);
  const request = httpRequest(`${options.base ?? proxy.url}${options.path ?? PATH}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...options.headers },
    agent: options.agent ?? false,
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  request.end(body);
  return { request, response };
}

/** The whole body; rejects when the connection ends before the body did. */
function drain(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(new Error('connection closed before the body ended'));
    });
  });
}

async function exchange(options: SendOptions = {}) {
  const res = await send(options).response;
  return { res, body: await drain(res) };
}

/** Values of a response header in the order they came, one per header line. */
function rawValues(res: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i]!.toLowerCase() === name) values.push(res.rawHeaders[i + 1]!);
  }
  return values;
}

/** Resolves with the upstream's response object once a request reached it and the handler ran. */
function nextExchange(respond: (res: ServerResponse) => void = () => {}): Promise<ServerResponse> {
  return new Promise((resolve) => {
    handler = (_req, res) => {
      respond(res);
      resolve(res);
    };
  });
}

describe('chaos proxy forward mode, no fault: passed between sockets', () => {
  it('status, status text, prefix + path + query, end-to-end headers and body reach the far side; hop-by-hop ones do not', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-dup', ['a', 'b']);
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('keep-alive', 'timeout=99');
      res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
      res.writeHead(202, 'Queued Here');
      res.end(completion);
    };
    const { res, body } = await exchange({
      path: `${PATH}?x=1&y=a%20b`,
      headers: {
        'x-custom': 'kept',
        'x-multi': ['1', '2'],
        'user-agent': 'third-party/1.0',
        'proxy-authorization': 'Basic c2VjcmV0',
        'keep-alive': 'timeout=1',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        trailer: 'x-checksum',
        connection: 'close',
      },
    });

    expect(res.statusCode).toBe(202);
    expect(res.statusMessage).toBe('Queued Here');
    expect(body.toString()).toBe(completion);
    // Repeated headers stay separate lines; cookies are not folded.
    expect(rawValues(res, 'x-dup')).toEqual(['a', 'b']);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=99');

    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/prefix${PATH}?x=1&y=a%20b`);
    expect(request!.body).toBe(chat);
    expect(request!.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(chat)),
      'x-custom': 'kept',
      'x-multi': '1, 2',
      'user-agent': 'third-party/1.0',
      // The upstream's own host and the proxy's own connection, not the client's.
      host: upstreamHost,
      connection: 'keep-alive',
    });
    for (const name of ['proxy-authorization', 'keep-alive', 'proxy-connection', 'te', 'trailer']) {
      expect(request!.headers[name], name).toBeUndefined();
    }
    // It went the fast path: counted as passed through, nothing injected.
    expect(proxy.chaos.counters()).toMatchObject({ passedThrough: 1, injected: { total: 0 } });
  });

  it('a gzip body passes still compressed; a fault that reads the body gets it decoded', async () => {
    const gzipped = gzipSync(completion);
    handler = (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': gzipped.byteLength,
      });
      res.end(gzipped);
    };
    const plain = await exchange();
    expect(plain.res.headers['content-encoding']).toBe('gzip');
    expect(plain.res.headers['content-length']).toBe(String(gzipped.byteLength));
    expect(plain.body.equals(gzipped)).toBe(true);
    expect(gunzipSync(plain.body).toString()).toBe(completion);

    proxy.chaos.setRules([{ fault: 'truncated_answer', params: { maxChars: 5 } }]);
    const cut = await exchange();
    expect(cut.res.headers['content-encoding']).toBeUndefined();
    const json = JSON.parse(cut.body.toString());
    expect(json.choices[0]).toMatchObject({ message: { content: 'Hello' }, finish_reason: 'length' });
    expect(seen).toHaveLength(2);
  });

  it('rules still apply: a 429 on every second request, counted and reported', async () => {
    proxy.chaos.setRules([
      { id: 'rl', fault: 'rate_limit', target: { model: 'gpt-4o*' }, injection: { everyNth: 2 } },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { res, body } = await exchange();
      statuses.push(res.statusCode!);
      if (res.statusCode === 429) {
        expect(res.headers['retry-after-ms']).toBe('1000');
        expect(JSON.parse(body.toString()).error.code).toBe('rate_limit_exceeded');
      } else {
        expect(body.toString()).toBe(completion);
      }
    }
    expect(statuses).toEqual([200, 429, 200, 429]);
    // The limited requests never reached the upstream.
    expect(seen).toHaveLength(2);

    const counters = await fetch(`${proxy.url}/__switchyard/counters`, {
      headers: { authorization: `Bearer ${proxy.adminToken}` },
    });
    expect(await counters.json()).toMatchObject({
      requests: { total: 4, byProvider: { openai: 4 }, byTarget: { 'openai/gpt-4o-mini': 4 } },
      injected: {
        total: 2,
        byFault: { rate_limit: 2 },
        byRule: { rl: 2 },
        byTarget: { 'openai/gpt-4o-mini': { rate_limit: 2 } },
      },
      passedThrough: 2,
    });
    const event = {
      ruleId: 'rl',
      fault: 'rate_limit',
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: PATH,
      stream: false,
    };
    expect(injected).toEqual([expect.objectContaining(event), expect.objectContaining(event)]);
  });

  it('204 and HEAD pass with no body, and the connection stays usable after them', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      handler = (req, res) => {
        if (req.url!.endsWith('?empty')) {
          res.writeHead(204, { 'x-kind': 'empty' });
          res.end();
        } else answer(req, res);
      };
      const noContent = await exchange({ path: `${PATH}?empty`, agent });
      expect(noContent.res.statusCode).toBe(204);
      expect(noContent.res.headers['x-kind']).toBe('empty');
      expect(noContent.body.byteLength).toBe(0);

      const head = await exchange({ method: 'HEAD', agent });
      expect(head.res.statusCode).toBe(200);
      expect(head.res.headers['content-length']).toBe(String(Buffer.byteLength(completion)));
      expect(head.body.byteLength).toBe(0);

      // Stray body bytes after either would corrupt this response on the same connection.
      const sent = send({ method: 'GET', path: '/v1/models', agent });
      const res = await sent.response;
      expect(sent.request.reusedSocket).toBe(true);
      expect((await drain(res)).toString()).toBe(completion);
      expect(seen.map((r) => r.method)).toEqual(['POST', 'HEAD', 'GET']);
    } finally {
      agent.destroy();
    }
  });
});

describe('chaos proxy forward mode, no fault: broken exchanges', () => {
  it('the upstream dying mid-body cuts the client connection: a truncated body, not a clean end', async () => {
    // Chunked, so a proxy that ended the response cleanly would hand the client a valid short body.
    const reached = nextExchange((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    const res = await send().response;
    const body = drain(res);
    const [first] = (await once(res, 'data')) as [Buffer];
    expect(first.toString()).toBe('{"partial":');
    (await reached).socket!.destroy();
    await expect(body).rejects.toThrow();
    expect(res.complete).toBe(false);
  });

  it('a client leaving before the upstream answers: the proxy closes the upstream request', async () => {
    const reached = nextExchange();
    const { request, response } = send();
    response.catch(() => {}); // the client's own side of the abort
    const upstreamRes = await reached;
    const closed = once(upstreamRes, 'close');
    request.destroy();
    await closed;
    expect(upstreamRes.writableFinished).toBe(false);
  });

  it('a stalled stream: the head arrives before any body, chunks follow as they come, leaving releases the upstream', async () => {
    const reached = nextExchange((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-stream': 'sse' });
      res.flushHeaders();
    });
    const { request, response } = send({ body: chat });
    // The upstream has written no body byte yet; only the head can have come through.
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/event-stream', 'x-stream': 'sse' });
    const upstreamRes = await reached;
    upstreamRes.write('data: 1\n\n');
    const [chunk] = (await once(res, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('data: 1\n\n');

    request.on('error', () => {});
    res.on('error', () => {});
    const closed = once(upstreamRes, 'close');
    request.destroy();
    await closed;
    expect(upstreamRes.writableFinished).toBe(false);
  });

  it('an upstream that refuses the connection, or drops it without answering, gives 502', async () => {
    const dropped = nextExchange((res) => res.socket!.destroy());
    const hangUp = await exchange();
    await dropped;
    expect(hangUp.res.statusCode).toBe(502);
    expect(JSON.parse(hangUp.body.toString()).error.type).toBe('proxy_error');

    // A port nobody listens on any more.
    const gone = createServer();
    const port = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const dead = await startChaosProxy({
      seed: 1,
      mode: 'forward',
      upstreams: { openai: `http://127.0.0.1:${port}` },
    });
    try {
      const refused = await exchange({ base: dead.url });
      expect(refused.res.statusCode).toBe(502);
      expect(JSON.parse(refused.body.toString()).error).toMatchObject({
        type: 'proxy_error',
        message: expect.stringContaining('ECONNREFUSED'),
      });
    } finally {
      await dead.close();
    }
  });
});

describe('chaos proxy forward mode: refusals never reach the upstream', () => {
  it('TRACE gets 405 method_not_allowed (it would echo the credentials back); TRACK is not even parsed', async () => {
    const trace = await exchange({ method: 'TRACE' });
    expect(trace.res.statusCode).toBe(405);
    expect(JSON.parse(trace.body.toString()).error).toEqual({
      type: 'method_not_allowed',
      message: 'TRACE is not allowed',
    });
    // node's HTTP parser does not know TRACK: the proxy's malformed-request answer.
    const track = await exchange({ method: 'TRACK' });
    expect(track.res.statusCode).toBe(400);
    expect(JSON.parse(track.body.toString()).error.type).toBe('bad_request');
    expect(seen).toHaveLength(0);
  });

  it('a body over maxBodyBytes gets 413', async () => {
    const big = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x'.repeat(2000) }],
    });
    const { res, body } = await exchange({ body: big });
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(body.toString()).error.type).toBe('request_too_large');
    expect(seen).toHaveLength(0);
    expect(proxy.chaos.counters().requests.total).toBe(0);
  });
});

describe('chaos proxy forward mode: headers that must not cross, and the right upstream', () => {
  it('headers named in Connection stay on their hop, both ways; repeated Cookie lines join with "; "', async () => {
    handler = (_req, res) => {
      res.setHeader('connection', 'keep-alive, x-up-private');
      res.setHeader('x-up-private', 'secret');
      res.setHeader('x-up-public', 'shown');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion);
    };
    const { res } = await exchange({
      headers: {
        connection: 'keep-alive, X-Private',
        'x-private': 'hop-only',
        'x-public': 'passed',
        cookie: ['a=1', 'b=2'],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-up-private']).toBeUndefined();
    expect(res.headers['x-up-public']).toBe('shown');
    expect(seen[0]!.headers['x-private']).toBeUndefined();
    expect(seen[0]!.headers['x-public']).toBe('passed');
    expect(seen[0]!.headers.cookie).toBe('a=1; b=2');
  });

  it("GET /v1/models with anthropic-version goes to Anthropic's origin, never to OpenAI's with the Anthropic key", async () => {
    const anthropicSeen: Seen[] = [];
    const anthropic = createServer((req, res) => {
      anthropicSeen.push({ method: req.method!, url: req.url!, headers: req.headers, body: '' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[]}');
    });
    const port = await listen(anthropic);
    const both = await startChaosProxy({
      seed: 1,
      mode: 'forward',
      upstreams: { openai: `http://${upstreamHost}`, anthropic: `http://127.0.0.1:${port}` },
    });
    const anthropicOnly = await startChaosProxy({
      seed: 1,
      mode: 'forward',
      upstreams: { anthropic: `http://127.0.0.1:${port}` },
    });
    const headers = { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test-not-a-real-key' };
    try {
      const viaBoth = await exchange({ method: 'GET', path: '/v1/models', base: both.url, headers });
      expect(viaBoth.res.statusCode).toBe(200);
      const viaOne = await exchange({ method: 'GET', path: '/v1/models', base: anthropicOnly.url, headers });
      expect(viaOne.res.statusCode).toBe(200);
      expect(anthropicSeen.map((r) => r.headers['x-api-key'])).toEqual([
        'sk-ant-test-not-a-real-key',
        'sk-ant-test-not-a-real-key',
      ]);
      expect(seen).toHaveLength(0);
      // Without the header it is OpenAI's models list.
      const openai = await exchange({ method: 'GET', path: '/v1/models', base: both.url });
      expect(openai.res.statusCode).toBe(200);
      expect(seen).toHaveLength(1);
    } finally {
      await both.close();
      await anthropicOnly.close();
      anthropic.closeAllConnections();
      await new Promise((resolve) => anthropic.close(resolve));
    }
  });
});
