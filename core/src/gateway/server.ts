import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, type Span, type Tracer, trace } from '@opentelemetry/api';
import pino from 'pino';
import { type Clock, RealClock } from '../runtime/clock.ts';
import { resolveApiKey } from '../runtime/config/load.ts';
import { DEFAULT_TENANT, estimateInputTokens } from '../runtime/cost/index.ts';
import { isSwitchyardError, SwitchyardError } from '../runtime/errors.ts';
import { Router } from '../runtime/router.ts';
import { resolveRoute } from '../runtime/routing/select.ts';
import type { RedisStore } from '../runtime/state/redis.ts';
import type { StateStore } from '../runtime/state.ts';
import { type DecisionTrace, formatPath } from '../runtime/trace/trace.ts';
import type { ChatRequest, ChatResponse } from '../runtime/types.ts';
import { anthropicDialect } from './anthropic.ts';
import type { GatewayConfig, SecretSources } from './config.ts';
import type { Dialect } from './dialect.ts';
import { fromRoutingError, GatewayError, retryAfterSeconds } from './errors.ts';
import { GatewayMetrics } from './metrics.ts';
import { openaiDialect } from './openai.ts';
import { endRequestSpan, injectTraceContext, startRequestSpan } from './telemetry.ts';
import { type Caller, presentedKey, RateLimits, sha256Hex, VirtualKeys } from './tenancy.ts';

/**
 * The router served over HTTP. OpenAI's `POST /v1/chat/completions` and `GET /v1/models`, Anthropic's
 * `POST /v1/messages`, all through one Router; `/healthz`, `/readyz`, `/metrics`. Every response says
 * what happened in `x-switchyard-*` headers (streams: the figures known only at the end go in
 * trailers). One JSON log line per request, a Prometheus registry, and a request span per call.
 */

/** Response headers, one prefix for all (listed in the README, The gateway). */
export const HEADER = {
  requestId: 'x-switchyard-request-id',
  servedBy: 'x-switchyard-served-by',
  attempts: 'x-switchyard-attempts',
  fallbacks: 'x-switchyard-fallbacks',
  costUsd: 'x-switchyard-cost-usd',
  cache: 'x-switchyard-cache',
} as const;

/** An incoming request id is kept (so a caller or a grader can tie its calls) when it looks like one. */
const REQUEST_ID_SHAPE = /^[\w.:-]{1,128}$/;
const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;
const LOOPBACK_PEER = /^(127(?:\.\d{1,3}){3}|::1|::ffff:127(?:\.\d{1,3}){3})$/;

/** A connection from this machine (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopbackPeer(address: string | undefined): boolean {
  return LOOPBACK_PEER.test(address ?? '');
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

export interface GatewayOptions {
  config: GatewayConfig;
  /** Interface to bind; loopback by default. Any other needs virtual keys in the config. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  clock?: Clock;
  /** fetch for the upstream calls (the built-in simulator hooks in here); defaults to globalThis.fetch. */
  fetch?: typeof fetch;
  /** Where provider keys, virtual keys named by `{ env }` and the admin token are read (default process.env). */
  env?: Record<string, string | undefined>;
  secrets?: (name: string) => string | undefined;
  /** Where the per-request JSON log lines go (default stdout); false: no request log. */
  log?: pino.DestinationStream | false;
  /** Tracer for the request spans (default: the global provider's, set up by startTracing). */
  tracer?: Tracer;
  /**
   * The router's state store (default: in memory). A shared one (RedisStore) makes this gateway one
   * replica of many; its fallbacks and outages become metrics and log lines. The caller closes it.
   */
  store?: StateStore;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly router: Router;
  readonly metrics: GatewayMetrics;
  /** Requests being answered now. */
  readonly inFlight: number;
  /**
   * Stops accepting, lets the requests in flight finish for up to `deadlineMs` (default: the config's
   * drainMs), cuts what is left (streams end with an error event), then closes.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** One request, from arrival to its last byte. */
interface Exchange {
  id: string;
  startedAt: number;
  endpoint: string;
  controller: AbortController;
  caller?: Caller;
  request?: ChatRequest;
  trace?: DecisionTrace;
  response?: ChatResponse;
  ttftMs?: number;
  status?: number;
  error?: GatewayError;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { router: routerConfig, gateway: settings } = options.config;
  const host = options.host ?? '127.0.0.1';
  const sources: SecretSources = {
    ...(options.env ? { env: options.env } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  };
  const keys = new VirtualKeys(settings.keys, sources);
  const loopback = isLoopbackHost(host);
  if (!loopback && !keys.required)
    throw new Error(
      `refusing to bind ${host} without virtual keys: anyone who can reach it could spend your provider keys (add gateway.keys to the config, or bind 127.0.0.1)`,
    );
  const adminToken = settings.adminToken
    ? resolveApiKey({ apiKey: settings.adminToken }, sources)
    : undefined;
  const adminDigest = adminToken ? Buffer.from(sha256Hex(adminToken), 'hex') : undefined;

  const clock = options.clock ?? new RealClock();
  const current = new AsyncLocalStorage<Exchange>();
  const baseFetch = options.fetch;
  const router = new Router({
    config: routerConfig,
    clock,
    ...(options.store ? { store: options.store } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    // The gateway's request id is the decision trace's id, so a trace finds its exchange.
    newId: () => current.getStore()?.id ?? randomUUID(),
    // Every upstream call carries the request id and the trace context, so a provider-side log (or
    // the chaos proxy grading this gateway) can tie each attempt to the request it served.
    fetch: (input, init) => {
      const exchange = current.getStore();
      const upstream = baseFetch ?? globalThis.fetch;
      if (!exchange) return upstream(input, init);
      const headers = new Headers(init?.headers);
      headers.set(HEADER.requestId, exchange.id);
      injectTraceContext(headers);
      return upstream(input, { ...init, headers });
    },
  });
  router.onTrace((finished) => {
    const exchange = current.getStore();
    if (exchange?.id === finished.id) exchange.trace = finished;
  });

  // Budgets are shown for every tenant a key names, or for the router's 'default' one when no key does.
  const tenantsSeen = new Set(keys.required ? keys.tenants : [DEFAULT_TENANT]);
  const metrics = new GatewayMetrics(router, () => tenantsSeen);
  const limits = new RateLimits(clock);
  const tracer = options.tracer ?? trace.getTracer('@switchyard/core/gateway');
  const logger =
    options.log === false
      ? undefined
      : pino(
          { base: null, messageKey: 'msg', timestamp: () => `,"time":${clock.now()}` },
          options.log ?? pino.destination({ fd: 1, sync: false }),
        );
  const stopWatchingState = watchState(options.store, metrics, logger);
  const names = new Set([
    ...routerConfig.routes.map((r) => r.name),
    ...routerConfig.deployments.flatMap((d) => [d.id, d.model]),
  ]);
  const exchanges = new Set<Exchange>();
  let draining = false;

  // ---------------------------------------------------------------------------------------------
  // Checks before routing.

  function authenticate(req: IncomingMessage): Caller | undefined {
    if (!keys.required) return undefined;
    const caller = keys.identify(presentedKey(req.headers));
    if (!caller) throw new GatewayError(401, 'invalid_api_key', 'missing or unknown API key');
    return caller;
  }

  function checkModel(request: ChatRequest, caller: Caller | undefined): string {
    const model = request.model ?? '';
    if (!names.has(model))
      throw new GatewayError(
        404,
        'model_not_found',
        `model "${model}" is neither a route nor a deployment of this gateway (GET /v1/models lists them)`,
        { param: 'model' },
      );
    const route = resolveRoute(routerConfig, request).name;
    if (caller?.routes && !caller.routes.has(model) && !caller.routes.has(route))
      throw new GatewayError(403, 'permission_denied', `key "${caller.name}" may not use "${model}"`, {
        param: 'model',
      });
    return route;
  }

  function admit(caller: Caller | undefined, request: ChatRequest): void {
    if (!caller) return;
    const admission = limits.admit(caller, estimateInputTokens(request));
    if (!admission.allowed)
      throw new GatewayError(
        429,
        'rate_limited',
        `key "${caller.name}" is over its ${admission.limit} limit; retry after ${admission.retryAfterMs} ms`,
        { retryAfterMs: admission.retryAfterMs },
      );
  }

  // ---------------------------------------------------------------------------------------------
  // Answers.

  function outcomeHeaders(finished: DecisionTrace | undefined): Record<string, string> {
    return {
      [HEADER.servedBy]: finished?.finalDeployment ?? 'none',
      [HEADER.attempts]: String(finished?.attempts.length ?? 0),
      [HEADER.fallbacks]: String(fallbacksOf(finished)),
      [HEADER.costUsd]: (finished?.costUsd ?? 0).toFixed(8),
      [HEADER.cache]: finished?.cache ?? 'off',
    };
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, dialect: Dialect, exchange: Exchange, error: GatewayError): void {
    exchange.status = error.status;
    exchange.error = error;
    const headers: Record<string, string> = outcomeHeaders(exchange.trace);
    if (error.retryAfterMs !== undefined) {
      headers['retry-after'] = retryAfterSeconds(error.retryAfterMs);
      headers['retry-after-ms'] = String(Math.ceil(error.retryAfterMs));
    }
    if (error.status === 413 || draining) headers.connection = 'close';
    sendJson(res, error.status, dialect.errorBody(error), headers);
  }

  async function unary(res: ServerResponse, dialect: Dialect, exchange: Exchange, request: ChatRequest) {
    const response = await router.complete(request, { signal: exchange.controller.signal });
    exchange.response = response;
    exchange.ttftMs = clock.now() - exchange.startedAt;
    exchange.status = 200;
    sendJson(
      res,
      200,
      dialect.completion(response, Math.floor(clock.now() / 1000)),
      outcomeHeaders(exchange.trace),
    );
  }

  async function streamed(
    res: ServerResponse,
    dialect: Dialect,
    exchange: Exchange,
    request: ChatRequest,
    includeUsage: boolean,
  ) {
    let encoder: ReturnType<Dialect['encoder']> | undefined;
    let failure: GatewayError | undefined;
    for await (const event of router.stream(request, { signal: exchange.controller.signal })) {
      if (event.type === 'attempt') {
        // Committed to a deployment: from here on the answer is a 200 stream. What is known only at
        // the end (cost, fallbacks) follows in trailers.
        exchange.status = 200;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          'x-accel-buffering': 'no',
          [HEADER.servedBy]: event.deployment,
          [HEADER.attempts]: String(event.attempt),
          [HEADER.cache]: 'off',
          trailer: `${HEADER.fallbacks}, ${HEADER.costUsd}`,
        });
        encoder = dialect.encoder({
          requestId: exchange.id,
          model: router.deployment(event.deployment)?.model ?? event.deployment,
          created: Math.floor(clock.now() / 1000),
          includeUsage,
        });
        write(res, encoder.start());
      } else if (event.type === 'done') {
        exchange.response = event.response;
      } else if (event.type === 'error') {
        failure = fromRoutingError(event.error);
      } else if (encoder) {
        if (exchange.ttftMs === undefined && (event.type === 'text-delta' || event.type === 'tool-call'))
          exchange.ttftMs = clock.now() - exchange.startedAt;
        write(res, encoder.event(event));
      }
    }
    // The stream is over and its decision trace finished.
    if (!encoder) {
      sendError(
        res,
        dialect,
        exchange,
        failure ?? new GatewayError(502, 'server_error', 'the stream ended without an answer'),
      );
      return;
    }
    if (failure) {
      exchange.error = failure;
      write(res, encoder.error(failure));
    } else if (exchange.response) {
      write(res, encoder.done(exchange.response));
    }
    const finalHeaders = outcomeHeaders(exchange.trace);
    if (res.destroyed) return;
    res.addTrailers({
      [HEADER.fallbacks]: finalHeaders[HEADER.fallbacks]!,
      [HEADER.costUsd]: finalHeaders[HEADER.costUsd]!,
    });
    res.end();
  }

  async function chat(req: IncomingMessage, res: ServerResponse, dialect: Dialect, exchange: Exchange) {
    const caller = authenticate(req);
    if (caller) {
      exchange.caller = caller;
      tenantsSeen.add(caller.tenant);
    }
    const call = dialect.parse(await readJson(req, settings.maxBodyBytes));
    exchange.request = call.request;
    checkModel(call.request, caller);
    admit(caller, call.request);
    const request: ChatRequest = caller
      ? {
          ...call.request,
          tenant: caller.tenant,
          ...(caller.tier !== undefined ? { tier: caller.tier } : {}),
          ...(caller.tags.length > 0 ? { tags: caller.tags } : {}),
        }
      : call.request;
    try {
      if (call.stream) await streamed(res, dialect, exchange, request, call.includeUsage);
      else await unary(res, dialect, exchange, request);
    } finally {
      const usage = exchange.response?.usage;
      if (caller && usage) limits.charge(caller, usage.inputTokens + usage.outputTokens);
    }
  }

  function models(req: IncomingMessage, res: ServerResponse, exchange: Exchange) {
    const caller = authenticate(req);
    if (caller) exchange.caller = caller;
    const allowed = (id: string) => !caller?.routes || caller.routes.has(id);
    const created = Math.floor(clock.now() / 1000);
    const data = [
      ...routerConfig.routes.map((r) => ({ id: r.name, object: 'model', created, owned_by: 'switchyard' })),
      ...routerConfig.deployments.map((d) => ({ id: d.id, object: 'model', created, owned_by: d.provider })),
    ].filter((m) => allowed(m.id));
    exchange.status = 200;
    sendJson(res, 200, { object: 'list', data });
  }

  async function serveMetrics(req: IncomingMessage, res: ServerResponse, exchange: Exchange) {
    const allowed = adminDigest
      ? timingSafeEqual(Buffer.from(sha256Hex(presentedKey(req.headers) ?? ''), 'hex'), adminDigest)
      : isLoopbackPeer(req.socket.remoteAddress);
    if (!allowed) throw new GatewayError(401, 'invalid_api_key', '/metrics needs the admin token');
    const text = await metrics.registry.metrics();
    exchange.status = 200;
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
  }

  // ---------------------------------------------------------------------------------------------
  // One handler for every request.

  const ENDPOINTS: Record<string, { method: string; dialect: Dialect; model: boolean }> = {
    '/v1/chat/completions': { method: 'POST', dialect: openaiDialect, model: true },
    '/v1/messages': { method: 'POST', dialect: anthropicDialect, model: true },
    '/v1/models': { method: 'GET', dialect: openaiDialect, model: false },
    '/healthz': { method: 'GET', dialect: openaiDialect, model: false },
    '/readyz': { method: 'GET', dialect: openaiDialect, model: false },
    '/metrics': { method: 'GET', dialect: openaiDialect, model: false },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const endpoint = ENDPOINTS[path];
    const given = req.headers[HEADER.requestId];
    const exchange: Exchange = {
      id: typeof given === 'string' && REQUEST_ID_SHAPE.test(given) ? given : randomUUID(),
      startedAt: clock.now(),
      endpoint: endpoint ? path : 'other',
      controller: new AbortController(),
    };
    res.setHeader(HEADER.requestId, exchange.id);
    // A caller that goes away aborts the upstream call (and the router's retries) at once.
    res.on('close', () => {
      if (!res.writableFinished) exchange.controller.abort(cancelled('the client disconnected'));
    });
    const dialect = endpoint?.dialect ?? openaiDialect;
    const leave = endpoint?.model ? metrics.enter(path) : undefined;
    if (endpoint?.model) exchanges.add(exchange);
    const { span, context: spanContext } = startRequestSpan(tracer, `${req.method} ${path}`, req.headers, {
      'http.request.method': req.method ?? '',
      'url.path': path,
      'switchyard.request_id': exchange.id,
    });
    try {
      await current.run(exchange, () =>
        context.with(spanContext, async () => {
          // Loopback binds answer only to loopback names: a web page cannot reach them by DNS rebinding.
          if (loopback && !LOOPBACK_HOSTS.test(req.headers.host ?? ''))
            throw new GatewayError(403, 'forbidden_host', 'this gateway answers only to localhost');
          if (!endpoint) throw new GatewayError(404, 'not_found', `no endpoint ${path}`);
          if (req.method !== endpoint.method)
            throw new GatewayError(405, 'method_not_allowed', `${path} takes ${endpoint.method}`);
          if (path === '/healthz') {
            exchange.status = 200;
            return sendJson(res, 200, { status: 'ok' });
          }
          if (path === '/readyz') {
            exchange.status = draining ? 503 : 200;
            return sendJson(res, exchange.status, { status: draining ? 'draining' : 'ready' });
          }
          if (draining) throw new GatewayError(503, 'draining', 'the gateway is shutting down');
          if (path === '/metrics') return serveMetrics(req, res, exchange);
          if (path === '/v1/models') return models(req, res, exchange);
          return chat(req, res, dialect, exchange);
        }),
      );
    } catch (thrown) {
      const error =
        thrown instanceof GatewayError
          ? thrown
          : isSwitchyardError(thrown)
            ? fromRoutingError(thrown)
            : new GatewayError(500, 'server_error', 'internal gateway error');
      if (!(thrown instanceof GatewayError) && !isSwitchyardError(thrown))
        logger?.error({ requestId: exchange.id, err: thrown }, 'unexpected failure');
      if (res.headersSent) res.destroy();
      else sendError(res, dialect, exchange, error);
    } finally {
      leave?.();
      exchanges.delete(exchange);
      finish(exchange, span, path, req.method ?? '');
    }
  }

  /** The request is answered: its metrics, its log line, its span. */
  function finish(exchange: Exchange, span: Span, path: string, method: string): void {
    const status = exchange.status ?? 500;
    const finished = exchange.trace;
    const errorKind = exchange.error?.code;
    if (finished) metrics.routed(exchange.endpoint, finished, exchange.ttftMs);
    else if (exchange.endpoint === '/v1/chat/completions' || exchange.endpoint === '/v1/messages')
      metrics.rejected(exchange.endpoint, undefined, errorKind ?? 'none');
    endRequestSpan(span, exchange.request, exchange.response, status, errorKind);
    if (!logger || path === '/metrics' || path === '/healthz' || path === '/readyz') return;
    logger.info(
      {
        requestId: exchange.id,
        method,
        path,
        status,
        durationMs: clock.now() - exchange.startedAt,
        ...(exchange.ttftMs !== undefined ? { ttftMs: exchange.ttftMs } : {}),
        ...(exchange.caller ? { key: exchange.caller.name, tenant: exchange.caller.tenant } : {}),
        ...(exchange.request ? { model: exchange.request.model } : {}),
        ...(finished ? decisionFields(finished) : {}),
        ...(exchange.response
          ? {
              inputTokens: exchange.response.usage.inputTokens,
              outputTokens: exchange.response.usage.outputTokens,
            }
          : {}),
        ...(exchange.error ? { error: { code: exchange.error.code, message: exchange.error.message } } : {}),
        ...(settings.logPrompts && exchange.request
          ? { prompt: exchange.request.messages.map((m) => ({ role: m.role, content: m.content })) }
          : {}),
      },
      'request',
    );
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  async function drain(deadlineMs: number): Promise<void> {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = clock.now() + deadlineMs;
    while (exchanges.size > 0 && clock.now() < deadline)
      await clock.sleep(Math.min(50, deadline - clock.now()));
    for (const exchange of exchanges) exchange.controller.abort(cancelled('the gateway shut down'));
    while (exchanges.size > 0) await clock.sleep(10);
    server.closeAllConnections();
    await closed;
    stopWatchingState();
    logger?.flush();
  }

  return {
    url: `http://${shownHost}:${port}`,
    port,
    router,
    metrics,
    get inFlight() {
      return exchanges.size;
    },
    close(deadlineMs = settings.drainMs) {
      closing ??= drain(deadlineMs);
      return closing;
    },
  };
}

/** The abort reason of a request the gateway ends: the router reports it as `cancelled`. */
function cancelled(why: string): SwitchyardError {
  return new SwitchyardError('cancelled', { message: why });
}

/** Writes to a response the caller may have gone from (a write to a closed socket would throw later). */
function write(res: ServerResponse, text: string): void {
  if (text !== '' && !res.destroyed) res.write(text);
}

/** How many times the router moved on to another deployment after an attempt. */
function fallbacksOf(finished: DecisionTrace | undefined): number {
  let n = 0;
  for (const a of finished?.attempts ?? []) if (a.next === 'fallback') n++;
  return n;
}

/** The decision path of a request, for its log line: no content, no keys. */
function decisionFields(finished: DecisionTrace) {
  return {
    route: finished.route,
    deployment: finished.finalDeployment ?? null,
    outcome: finished.outcome,
    stream: finished.stream,
    cache: finished.cache,
    costUsd: finished.costUsd,
    wastedUsd: finished.wastedUsd,
    fallbacks: fallbacksOf(finished),
    decision: formatPath(finished),
    attempts: finished.attempts.map((a) => ({
      deployment: a.deployment,
      outcome: a.outcome,
      ...(a.errorKind ? { errorKind: a.errorKind } : {}),
      ...(a.status !== undefined ? { status: a.status } : {}),
      ms: a.endedAt - a.startedAt,
      ...(a.next ? { next: a.next } : {}),
      ...(a.fallbackReason ? { fallbackReason: a.fallbackReason } : {}),
      ...(a.delayBeforeNextMs !== undefined
        ? { waitedMs: a.delayBeforeNextMs, waitReason: a.delayReason }
        : {}),
    })),
    skipped: finished.candidates.filter((c) => c.skipped).map((c) => `${c.deployment}:${c.skipped}`),
  };
}

/** The request body as JSON, refused past `limit` bytes (413) or when it does not parse (400). */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new GatewayError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'request_too_large', `the body is larger than ${limit} bytes`);
}

/**
 * A shared store's fallbacks and outages: every fallback is counted (switchyard_gateway_state_fallbacks_total);
 * the log gets one line when the store goes away, one per kind of state at its first fallback in
 * that outage (an outage under load would otherwise write a line per request), and one when it is back.
 */
function watchState(
  store: StateStore | undefined,
  metrics: GatewayMetrics,
  logger: pino.Logger | undefined,
): () => void {
  if (!(store && 'onEvent' in store)) return () => {};
  const logged = new Set<string>();
  return (store as RedisStore).onEvent((event) => {
    metrics.state(event);
    if (event.type === 'down') {
      logged.clear();
      logger?.warn(
        { event: 'state_store_down', error: event.error },
        'state store unreachable: falling back',
      );
    } else if (event.type === 'up') {
      logger?.warn({ event: 'state_store_up', replayed: event.replayed }, 'state store back');
      logged.clear();
    } else if (!logged.has(event.kind)) {
      logged.add(event.kind);
      logger?.warn(
        {
          event: 'state_fallback',
          kind: event.kind,
          operation: event.operation,
          policy: event.policy,
          error: event.error,
        },
        event.policy === 'closed'
          ? `${event.kind} state unavailable: failing closed`
          : `${event.kind} state unavailable: using this replica's own`,
      );
    }
  });
}
