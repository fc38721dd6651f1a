/**
 * The chaos proxy: the same chaos handler served over a real loopback socket, so any client (our SDKs,
 * curl, a third-party library in another language) can be pointed at it by base URL, and transport
 * faults are real: RST, close without response, FIN half-close, byte-by-byte writes, stalls.
 *
 * simulate mode: the simulator answers. forward mode: requests go to the configured upstream origin of
 * their provider only; anything else is refused. The proxy logs nothing, so keys never reach a log.
 *
 * Admin (JSON) under /__switchyard/: GET rules, PUT rules, GET counters, POST reset.
 */
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { type Clock, RealClock } from '../../runtime/clock.ts';
import {
  type Chaos,
  createChaos,
  type InjectionEvent,
  transportFaultOf,
  type Upstream,
} from '../chaos/engine.ts';
import { type FaultRule, validateRules } from '../chaos/plan.ts';
import { type Provider, providerOf } from '../chaos/wire.ts';
import { createSimulator, type SimulatorOptions } from '../simulator/index.ts';

export interface ChaosProxyOptions {
  /** Default 127.0.0.1: never exposed beyond loopback unless asked. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  clock?: Clock;
  seed: number;
  rules?: FaultRule[];
  mode: 'simulate' | 'forward';
  /** forward mode: provider → origin (a path prefix is kept), e.g. { openai: 'https://api.openai.com' }. */
  upstreams?: Partial<Record<Provider, string>>;
  /** simulate mode: extra simulator options. */
  simulator?: Partial<Omit<SimulatorOptions, 'clock' | 'seed'>>;
  /** simulate mode: serve this handler instead of the simulator. */
  upstream?: Upstream;
  /** Request bodies above this get 413 (default 4 MiB). */
  maxBodyBytes?: number;
  onInject?: (event: InjectionEvent) => void;
}

export interface ChaosProxy {
  url: string;
  port: number;
  chaos: Chaos;
  close(): Promise<void>;
}

export const ADMIN_PREFIX = '/__switchyard/';

/** Abort reason for the work left behind a response that was sent in full. */
const FINISHED = new DOMException('the response was sent', 'AbortError');

// Connection-level headers describe one hop; they must not be copied to the next.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

function problemResponse(status: number, type: string, message: string): Response {
  return Response.json({ error: { type, message } }, { status });
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new HttpProblem(
      413,
      'request_too_large',
      `request body of ${declared} bytes exceeds ${maxBytes} bytes`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new HttpProblem(413, 'request_too_large', `request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function toFetchHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name)) headers.append(name, req.rawHeaders[i + 1]!);
  }
  return headers;
}

/**
 * Decoders for the encodings fetch used to undo: chaos transforms read the body as text, so a
 * compressed upstream body is decoded on the way (as fetch did) and re-sent as identity.
 */
const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip(),
  'x-gzip': () => createGunzip(),
  deflate: () => createInflate(),
  br: () => createBrotliDecompress(),
};

/** Keep-alive pools for upstream connections (one per scheme), shared by every request of the proxy. */
const UPSTREAM_AGENTS = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

/**
 * Forward-mode upstream: only to the configured origin of the request's provider.
 *
 * Perf: node:http(s) with a keep-alive agent instead of the global fetch (undici). fetch costs about
 * twice the CPU per exchange (its own Request/Response, header validation, body mixins); measured
 * with bench/benches/proxy.ts, the proxy's CPU per forwarded request fell from ~1 ms to ~0.5 ms.
 */
function forwarder(upstreams: Partial<Record<Provider, string>>): Upstream {
  return async (request) => {
    const url = new URL(request.url);
    const provider = providerOf(url.pathname);
    const base = provider ? upstreams[provider] : undefined;
    if (!base) {
      return problemResponse(403, 'upstream_not_configured', `no upstream configured for ${url.pathname}`);
    }
    const target = new URL(base);
    target.pathname = `${target.pathname.replace(/\/$/, '')}${url.pathname}`;
    target.search = url.search;
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const body = hasBody ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body) headers['content-length'] = String(body.byteLength);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = target.protocol === 'https:' ? UPSTREAM_AGENTS['https:'] : UPSTREAM_AGENTS['http:'];
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      if (request.signal.aborted) return reject(request.signal.reason);
      const req = send(target, { method: request.method, headers, agent }, resolve);
      const onAbort = () =>
        req.destroy(request.signal.reason instanceof Error ? request.signal.reason : undefined);
      request.signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => request.signal.removeEventListener('abort', onAbort));
      req.once('error', reject);
      req.end(body);
    });
    const responseHeaders = new Headers();
    const raw = upstream.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (!HOP_BY_HOP.has(name) || name === 'content-length') responseHeaders.append(name, raw[i + 1]!);
    }
    let stream: Readable = upstream;
    const encoding = responseHeaders.get('content-encoding')?.trim().toLowerCase();
    const decoder = encoding ? DECODERS[encoding] : undefined;
    if (decoder) {
      // Decoded here: the encoding and length headers no longer describe the body.
      responseHeaders.delete('content-encoding');
      responseHeaders.delete('content-length');
      stream = upstream.pipe(decoder());
      upstream.once('error', (error) => stream.destroy(error));
    }
    const status = upstream.statusCode ?? 502;
    // A body-less status must be built without a body (Response refuses one).
    const noBody =
      request.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) upstream.resume();
    return new Response(noBody ? null : (Readable.toWeb(stream) as ReadableStream<Uint8Array>), {
      status,
      statusText: upstream.statusMessage ?? '',
      headers: responseHeaders,
    });
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Streams a fetch Response to the socket chunk by chunk, respecting backpressure, never buffering. */
async function pipeResponse(response: Response, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie' || HOP_BY_HOP.has(name)) return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const length = response.headers.get('content-length');
  if (length !== null) headers['content-length'] = length;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body) {
    res.end();
    return;
  }
  // A stalled or slow body must not hold back the status and headers: they go out on their own if
  // the first chunk is not there by the next event-loop turn. When it is (the common case), head and
  // first chunk leave in one write (perf: one syscall and one packet fewer per response; see
  // bench/benches/proxy.ts).
  const flushHead = setImmediate(() => res.flushHeaders());
  const reader = response.body.getReader();
  const onAbort = () => reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // The body failed: the client must still get the head and every byte written so far, then
        // the cut. The response corks the socket until the next tick, so wait a turn before the
        // caller tears the socket down, or the pending writes would be dropped with it.
        clearImmediate(flushHead);
        if (!res.headersSent) res.flushHeaders();
        await new Promise((resolve) => setImmediate(resolve));
        throw error;
      }
      const { done, value } = chunk;
      clearImmediate(flushHead);
      if (done) break;
      if (signal.aborted) return;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const finish = () => {
            res.off('drain', finish);
            res.off('close', finish);
            resolve();
          };
          res.on('drain', finish);
          res.on('close', finish);
        });
      }
    }
    res.end();
  } finally {
    clearImmediate(flushHead);
    signal.removeEventListener('abort', onAbort);
  }
}

export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? new RealClock();
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const upstreams = options.upstreams ?? {};
  let upstream: Upstream;
  if (options.mode === 'forward') {
    upstream = forwarder(upstreams);
  } else if (options.upstream) {
    upstream = options.upstream;
  } else {
    const simulator = createSimulator({
      ...options.simulator,
      clock,
      seed: options.seed,
    } as SimulatorOptions);
    upstream = (request) => simulator.handle(request);
  }
  const chaos = createChaos({
    clock,
    seed: options.seed,
    rules: options.rules ?? [],
    upstream,
    ...(options.onInject ? { onInject: options.onInject } : {}),
  });

  let origin = '';
  const sockets = new Set<Socket>();

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const name = path.slice(ADMIN_PREFIX.length);
    if (name === 'rules' && req.method === 'GET') return sendJson(res, 200, { rules: chaos.rules() });
    if (name === 'rules' && req.method === 'PUT') {
      const text = (await readBody(req, maxBodyBytes)).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new HttpProblem(400, 'invalid_json', 'body is not valid JSON');
      }
      const rules = Array.isArray(parsed) ? parsed : (parsed as { rules?: unknown } | null)?.rules;
      try {
        chaos.setRules(validateRules(rules));
      } catch (error) {
        throw new HttpProblem(400, 'invalid_rules', (error as Error).message);
      }
      return sendJson(res, 200, { rules: chaos.rules() });
    }
    if (name === 'counters' && req.method === 'GET') return sendJson(res, 200, chaos.counters());
    if (name === 'reset' && req.method === 'POST') {
      chaos.reset();
      return sendJson(res, 200, { ok: true });
    }
    const known = ['rules', 'counters', 'reset'].includes(name);
    throw new HttpProblem(
      known ? 405 : 404,
      known ? 'method_not_allowed' : 'not_found',
      `${req.method} ${path}`,
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    // The client went away (or we finished): stop the chaos handler and the upstream. Perf: a finished
    // exchange reuses one reason instead of building a DOMException (and its stack) per request.
    res.on('close', () =>
      abort.abort(
        res.writableFinished ? FINISHED : new DOMException('client closed the connection', 'AbortError'),
      ),
    );
    let url: URL;
    try {
      // Only the path is used: an absolute-form target (`GET http://elsewhere/`) never picks the upstream.
      url = new URL(req.url ?? '/', 'http://proxy.invalid');
      url = new URL(`${url.pathname}${url.search}`, origin);
    } catch {
      throw new HttpProblem(400, 'invalid_request', 'request target is not a valid URL');
    }
    if (url.pathname.startsWith(ADMIN_PREFIX)) return admin(req, res, url.pathname);
    if (options.mode === 'forward') {
      const provider = providerOf(url.pathname);
      if (!provider) throw new HttpProblem(404, 'unknown_route', `no provider serves ${url.pathname}`);
      if (!upstreams[provider]) {
        throw new HttpProblem(403, 'upstream_not_configured', `forwarding to ${provider} is not configured`);
      }
    }
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, maxBodyBytes);
    const request = new Request(url, {
      method,
      headers: toFetchHeaders(req),
      ...(body && body.byteLength > 0 ? { body: new Uint8Array(body) } : {}),
      signal: abort.signal,
    });
    const response = await chaos.handle(request);
    const transport = transportFaultOf(response);
    const socket = req.socket;
    if (transport === 'connection_reset') {
      socket.resetAndDestroy();
      return;
    }
    if (transport === 'connection_refused') {
      socket.destroy();
      return;
    }
    if (transport === 'half_close') {
      // FIN on our side only: the client may still write, but no answer will ever come.
      socket.end();
      return;
    }
    if (response.type === 'error') {
      socket.destroy();
      return;
    }
    try {
      await pipeResponse(response, res, abort.signal);
    } catch {
      // The body failed mid-way (abrupt cut, upstream died): tear the connection down so the client
      // sees a truncated chunked body rather than a clean end.
      socket.destroy();
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const problem =
        error instanceof HttpProblem
          ? error
          : new HttpProblem(502, 'proxy_error', error instanceof Error ? error.message : 'proxy error');
      // Unread request bytes would poison keep-alive; close after answering.
      if (problem.status === 413) res.setHeader('connection', 'close');
      sendJson(res, problem.status, { error: { type: problem.type, message: problem.message } });
    });
  });
  // Malformed HTTP never reaches the handler: answer 400 and close instead of crashing.
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) {
      const body = JSON.stringify({ error: { type: 'bad_request', message: 'malformed HTTP request' } });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });
  server.on('connection', (socket: Socket) => {
    // Flush every write at once (no Nagle): chunk timing is part of what the proxy simulates.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: origin,
    port,
    chaos,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Stalled and hanging connections must not keep the server (or the test) alive.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      }),
  };
}
