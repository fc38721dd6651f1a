/**
 * The chaos proxy: the same chaos handler served over a real loopback socket, so any client (our SDKs,
 * curl, a third-party library in another language) can be pointed at it by base URL, and transport
 * faults are real: RST, close without response, FIN half-close, byte-by-byte writes, stalls.
 *
 * simulate mode: the simulator answers. forward mode: requests go to the configured upstream origin of
 * their provider only; anything else is refused. The proxy logs nothing, so keys never reach a log.
 *
 * Admin (JSON) under /__switchyard/: GET rules, PUT rules (`{ faults: [...] }`, the format of a serve
 * config and a scenario's faults), GET counters, POST reset; each call needs the admin token, a
 * loopback (or configured) Host and no cross-site Origin (admin-guard.ts).
 */
import {
  type ClientRequest,
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
import type { FaultRule } from '../chaos/plan.ts';
import { fromFaultRule, parseFaultList } from '../chaos/rule-format.ts';
import { describeRequest, type Provider, providerOf } from '../chaos/wire.ts';
import { createSimulator, type SimulatorOptions } from '../simulator/index.ts';
import { ADMIN_PREFIX, type AdminGuard, adminRefusal, newAdminToken } from './admin-guard.ts';
import { isModelManagement } from './model-management.ts';

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
  /**
   * Opt-in CORS, so a browser page can call the proxy: `true` allows any origin, a string or list
   * only those origins. Off by default.
   */
  cors?: boolean | string | string[];
  onInject?: (event: InjectionEvent) => void;
  /** The token every admin call must present (default: a new random one, see `ChaosProxy.adminToken`). */
  adminToken?: string;
  /** Host names admin calls may use besides loopback (e.g. the machine's name when bound beyond it). */
  adminHosts?: string[];
  /** forward mode: pass on model-management endpoints (Ollama /api/pull, /api/delete, …); default false. */
  forwardModelManagement?: boolean;
  /** Time for a client to send its request headers, answered with 408 after (default node's 60 s). */
  headersTimeoutMs?: number;
}

export interface ChaosProxy {
  url: string;
  port: number;
  chaos: Chaos;
  /** What admin calls must send as `Authorization: Bearer <token>` (or x-switchyard-admin-token). */
  adminToken: string;
  close(): Promise<void>;
}

export { ADMIN_PREFIX } from './admin-guard.ts';

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

// node's parser already refuses TRACK (400) and closes CONNECT (no 'connect' listener); TRACE reaches us.
const FORBIDDEN_METHODS = new Set(['TRACE']);

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

/**
 * The hop-by-hop headers of one message: the fixed list plus any header its `Connection` header
 * names (RFC 9110 §7.6.1), so `connection: close, x-private` keeps `x-private` on this hop.
 */
function hopByHop(raw: string[]): Set<string> {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    named ??= new Set(HOP_BY_HOP);
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) named.add(name);
    }
  }
  return named ?? HOP_BY_HOP;
}

/**
 * An upstream response's headers to pass on, as raw name/value pairs: its end-to-end headers and
 * its content-length (node:http does not recompute it for a piped body).
 */
function responseHead(raw: string[]): string[] {
  const skip = hopByHop(raw);
  const head: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!skip.has(name) || name === 'content-length') head.push(raw[i]!, raw[i + 1]!);
  }
  return head;
}

/**
 * The request's end-to-end headers, lowercased, repeated ones joined with ", " (as fetch's Headers
 * does; "; " for Cookie, whose values are a list of their own): as Headers for the chaos layer and
 * as a plain record for node:http.
 */
function requestHeaders(req: IncomingMessage): { headers: Headers; forward: Record<string, string> } {
  const headers = new Headers();
  const forward: Record<string, string> = {};
  const raw = req.rawHeaders;
  const skip = hopByHop(raw);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (skip.has(name)) continue;
    const value = raw[i + 1]!;
    const seen = forward[name];
    forward[name] = seen === undefined ? value : `${seen}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  for (const name in forward) headers.set(name, forward[name]!);
  return { headers, forward };
}

/** A body as text the way Request.text() reads it (UTF-8, a leading BOM dropped). */
function bodyText(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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

/**
 * Keep-alive pools for upstream connections (one per scheme), shared by every request of the proxy.
 * No cap on sockets (like fetch): a cap would queue requests behind slow streams; up to 256 idle
 * connections are kept for reuse (node's default). `timeout` closes a connection idle in the pool
 * for 30 s, sooner if the server announces a shorter keep-alive (node only honours that hint when a
 * timeout is set), so a request is not sent on a connection the server is closing. It never cuts an
 * exchange in progress (a slow stream only gets a 'timeout' event nobody listens to).
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 30_000 };
const UPSTREAM_AGENTS = {
  'http:': new HttpAgent(AGENT_OPTIONS),
  'https:': new HttpsAgent(AGENT_OPTIONS),
};

/** A configured upstream origin, parsed once: node:http options plus the path prefix to keep. */
interface Origin {
  https: boolean;
  hostname: string;
  port: string;
  /** Path prefix of the configured origin, without a trailing slash. */
  prefix: string;
}

function parseOrigins(upstreams: Partial<Record<Provider, string>>): Partial<Record<Provider, Origin>> {
  const origins: Partial<Record<Provider, Origin>> = {};
  for (const [provider, base] of Object.entries(upstreams) as Array<[Provider, string | undefined]>) {
    if (!base) continue;
    const url = new URL(base);
    origins[provider] = {
      https: url.protocol === 'https:',
      // IPv6 literals come bracketed in a URL, bare in node:http options.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      prefix: url.pathname.replace(/\/$/, ''),
    };
  }
  return origins;
}

/** Sends one request to an origin (keep-alive pool); the promise settles on the response head. */
function sendUpstream(
  origin: Origin,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal?: AbortSignal,
): { request: ClientRequest; response: Promise<IncomingMessage> } {
  if (signal?.aborted) throw signal.reason;
  if (body) headers['content-length'] = String(body.byteLength);
  const options = {
    hostname: origin.hostname,
    ...(origin.port ? { port: origin.port } : {}),
    path,
    method,
    headers,
    agent: origin.https ? UPSTREAM_AGENTS['https:'] : UPSTREAM_AGENTS['http:'],
  };
  const request = origin.https ? httpsRequest(options) : httpRequest(options);
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
    if (!signal) return;
    const onAbort = () => request.destroy(signal.reason instanceof Error ? signal.reason : undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => signal.removeEventListener('abort', onAbort));
  });
  request.end(body);
  return { request, response };
}

/**
 * Forward-mode upstream for requests a fault applies to: only to the configured origin of the
 * request's provider, answered as a fetch Response the fault can read and rewrite.
 *
 * Perf: node:http(s) with a keep-alive agent instead of the global fetch (undici). fetch costs about
 * twice the CPU per exchange (its own Request/Response, header validation, body mixins); measured
 * with bench/benches/proxy.ts, the proxy's CPU per forwarded request fell from ~1 ms to ~0.5 ms.
 */
function forwarder(origins: Partial<Record<Provider, Origin>>): Upstream {
  return async (request) => {
    const url = new URL(request.url);
    const provider = providerOf(url.pathname, request.headers);
    const origin = provider ? origins[provider] : undefined;
    if (!origin) {
      return problemResponse(403, 'upstream_not_configured', `no upstream configured for ${url.pathname}`);
    }
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const body = hasBody ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const upstream = await sendUpstream(
      origin,
      request.method,
      `${origin.prefix}${url.pathname}${url.search}`,
      headers,
      body,
      request.signal,
    ).response;
    const responseHeaders = new Headers();
    const head = responseHead(upstream.rawHeaders);
    for (let i = 0; i < head.length; i += 2) responseHeaders.append(head[i]!, head[i + 1]!);
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

/**
 * Forward mode, no fault for this request: upstream and client sockets joined by node streams, the
 * upstream's bytes, status and end-to-end headers passed on as they are (a compressed body stays
 * compressed: no fault reads it). Resolves once the upstream answered (its body then flows on its
 * own); rejects if it never did, so the caller can still answer 502.
 *
 * Perf: no fetch Request/Response, no web streams, no request clone. Measured with
 * bench/benches/proxy.ts (32 connections, 3 runs, medians, same loaded 2-core machine): the proxy's
 * CPU per forwarded request 563 -> 324 µs, 1115 -> 1950 req/s, added p50/p99 20/60 -> 11/22 ms;
 * a bare node:http pipe proxy costs about the same CPU per request, so node:http is now the floor.
 */
function passThrough(
  res: ServerResponse,
  exchange: Exchange,
  origin: Origin,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<void> {
  const sent = sendUpstream(origin, method, path, headers, body);
  exchange.upstream = sent.request;
  return sent.response.then((upstream) => {
    const head = responseHead(upstream.rawHeaders);
    try {
      res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage || undefined, head);
    } catch (error) {
      // A status node refuses to send: the caller answers 502; the upstream connection is not reusable.
      upstream.destroy();
      throw error;
    }
    // The upstream died mid-body: cut the client's connection too, so it sees a truncated body
    // rather than a clean end.
    const cut = () => {
      if (!upstream.complete) res.destroy();
    };
    upstream.once('error', cut);
    upstream.once('close', cut);
    // Head and first chunk leave in one write when the chunk is already there (the common case), but
    // a stalled body must not hold back the head: it goes out alone on the next event-loop turn.
    setImmediate(() => {
      if (!upstream.readableDidRead && !upstream.readableEnded && !res.destroyed) res.flushHeaders();
    });
    upstream.pipe(res);
  });
}

/** Per-request state the client's 'close' needs: what to stop when it goes away. */
interface Exchange {
  closed: boolean;
  abort?: AbortController;
  upstream?: ClientRequest;
}

/** The rules in the one format: `{ faults: [...] }`, as a serve config file holds them. */
function ruleList(chaos: Chaos): { faults: unknown[] } {
  return { faults: chaos.rules().map(fromFaultRule) };
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

/**
 * A loopback port that refuses connections: bound for a moment to learn a free number, then closed.
 * Hand-written because no library offers "a closed port": get-port and its kin return free ports
 * to listen on. The OS may give the number to someone else later; a refusal then becomes whatever
 * that listener answers, which the proxy tests would notice.
 */
async function refusingPort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Headers a browser may read from a response (the providers' ids, limits and retry hints). */
const EXPOSED_HEADERS = [
  'x-request-id',
  'request-id',
  'retry-after',
  'retry-after-ms',
  'openai-processing-ms',
  'openai-version',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'anthropic-ratelimit-requests-remaining',
  'anthropic-ratelimit-tokens-remaining',
].join(', ');

/**
 * CORS for browser clients (opt-in). Adds the allow headers to every response of an allowed origin
 * and answers its preflight (OPTIONS with Access-Control-Request-Method) itself; returns true when
 * it answered. A few headers and one rule do not justify a dependency (the `cors` package is
 * Express middleware).
 */
function corsPolicy(
  option: ChaosProxyOptions['cors'],
): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  if (!option) return undefined;
  const allowed = option === true ? undefined : new Set([option].flat());
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin || (allowed && !allowed.has(origin))) return false;
    res.setHeader('access-control-allow-origin', allowed ? origin : '*');
    res.setHeader('vary', 'origin');
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
      // Whatever the client's SDK sends (authorization, x-api-key, anthropic-version, x-stainless-*).
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
      'access-control-max-age': '600',
      'content-length': 0,
    });
    res.end();
    return true;
  };
}

export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? new RealClock();
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const origins = options.mode === 'forward' ? parseOrigins(options.upstreams ?? {}) : {};
  let upstream: Upstream;
  if (options.mode === 'forward') {
    upstream = forwarder(origins);
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
  const refusedHost = host.includes(':') ? `[${host}]` : host;
  const refusedPort = await refusingPort(host);
  const cors = corsPolicy(options.cors);

  const guard: AdminGuard = {
    token: options.adminToken ?? newAdminToken(),
    hosts: [host, ...(options.adminHosts ?? [])],
  };

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const refusal = adminRefusal(req.headers, guard);
    if (refusal) throw new HttpProblem(refusal.status, refusal.type, refusal.message);
    const name = path.slice(ADMIN_PREFIX.length);
    // One rule format (chaos/rule-format.ts): what GET answers can be pasted into a serve config.
    if (name === 'rules' && req.method === 'GET') return sendJson(res, 200, ruleList(chaos));
    if (name === 'rules' && req.method === 'PUT') {
      const text = (await readBody(req, maxBodyBytes)).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new HttpProblem(400, 'invalid_json', 'body is not valid JSON');
      }
      try {
        chaos.setRules(parseFaultList(parsed));
      } catch (error) {
        throw new HttpProblem(400, 'invalid_rules', (error as Error).message);
      }
      return sendJson(res, 200, ruleList(chaos));
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
    const exchange: Exchange = { closed: false };
    // The client went away (or we finished): stop the chaos handler and the upstream. Perf: a finished
    // exchange reuses one reason instead of building a DOMException (and its stack) per request.
    res.once('close', () => {
      exchange.closed = true;
      if (res.writableFinished) return exchange.abort?.abort(FINISHED);
      exchange.abort?.abort(new DOMException('client closed the connection', 'AbortError'));
      exchange.upstream?.destroy(new Error('client closed the connection'));
    });
    let url: URL;
    try {
      // Only the path is used: an absolute-form target (`GET http://elsewhere/`) never picks the upstream.
      url = new URL(req.url ?? '/', 'http://proxy.invalid');
      url = new URL(`${url.pathname}${url.search}`, origin);
    } catch {
      throw new HttpProblem(400, 'invalid_request', 'request target is not a valid URL');
    }
    if (cors?.(req, res)) return;
    if (url.pathname.startsWith(ADMIN_PREFIX)) return admin(req, res, url.pathname);
    const { headers, forward } = requestHeaders(req);
    const method = req.method ?? 'GET';
    let target: Origin | undefined;
    if (options.mode === 'forward') {
      if (!options.forwardModelManagement && isModelManagement(method, url.pathname)) {
        throw new HttpProblem(
          403,
          'model_management_not_forwarded',
          `${method} ${url.pathname} manages the provider's models and is not forwarded (serve --allow-model-management)`,
        );
      }
      // By path and headers, as the chaos layer decides: GET /v1/models with anthropic-version is
      // Anthropic's, and must not carry its x-api-key to the OpenAI origin.
      const provider = providerOf(url.pathname, headers);
      if (!provider) throw new HttpProblem(404, 'unknown_route', `no provider serves ${url.pathname}`);
      target = origins[provider];
      if (!target) {
        throw new HttpProblem(403, 'upstream_not_configured', `forwarding to ${provider} is not configured`);
      }
    }
    // Methods fetch refuses (and a proxy must not pass on: TRACE echoes the caller's credentials).
    if (FORBIDDEN_METHODS.has(method))
      throw new HttpProblem(405, 'method_not_allowed', `${method} is not allowed`);
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, maxBodyBytes);
    const hasBody = body !== undefined && body.byteLength > 0;
    // What `chaos.handle` would do, in two steps: the request is counted and decided on from its raw
    // parts, and only a request a fault applies to is built as a fetch Request.
    const inject = chaos.decide(
      describeRequest(method, url.pathname, headers, hasBody ? bodyText(body) : undefined),
    );
    if (!inject && target) {
      if (exchange.closed) return;
      return passThrough(
        res,
        exchange,
        target,
        method,
        `${target.prefix}${url.pathname}${url.search}`,
        forward,
        body,
      );
    }
    const abort = new AbortController();
    exchange.abort = abort;
    if (exchange.closed) abort.abort(new DOMException('client closed the connection', 'AbortError'));
    const request = new Request(url, {
      method,
      headers,
      ...(hasBody ? { body: new Uint8Array(body) } : {}),
      signal: abort.signal,
    });
    const response = await (inject ? inject(request) : upstream(request));
    const transport = transportFaultOf(response);
    const socket = req.socket;
    if (transport === 'connection_reset') {
      socket.resetAndDestroy();
      return;
    }
    if (transport === 'connection_refused') {
      // A real refusal: the request is sent on to a port nobody listens on, so the client's own
      // connect fails with ECONNREFUSED (fetch-based clients follow the 307; see refusingPort).
      res.writeHead(307, {
        location: `http://${refusedHost}:${refusedPort}${url.pathname}${url.search}`,
        'content-length': 0,
      });
      res.end();
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

  const timeouts =
    options.headersTimeoutMs === undefined
      ? {}
      : {
          headersTimeout: options.headersTimeoutMs,
          // node enforces it on this tick; the whole request may take longer (streams are long).
          connectionsCheckingInterval: Math.min(30_000, Math.max(50, options.headersTimeoutMs / 4)),
        };
  const server = createServer(timeouts, (req, res) => {
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
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable) {
      // Headers that never finished are a timeout (408), not a malformed request.
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const [status, type, message] = timedOut
        ? ['408 Request Timeout', 'request_timeout', 'the request headers did not arrive in time']
        : ['400 Bad Request', 'bad_request', 'malformed HTTP request'];
      const body = JSON.stringify({ error: { type, message } });
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
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
    adminToken: guard.token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Stalled and hanging connections must not keep the server (or the test) alive.
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      }),
  };
}
