import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';

/**
 * A gateway someone else wrote, for grading with `--against`: a tiny OpenAI-compatible HTTP server
 * (node:http, no Switchyard code) that maps the asked model to an upstream model and forwards the
 * request to OpenAI's API at `upstream()` (the chaos proxy), retrying on a 5xx or a failed
 * connection as many times as `retries` says. It routes; it has no breaker, no fallback, no hedge.
 */
export interface StandInOptions {
  /** The upstream OpenAI base URL, read per request (e.g. the chaos proxy's `/v1`). */
  upstream: () => string;
  /** Extra tries after a 5xx or a transport failure (0 = naive). */
  retries: number;
  /** Copy x-switchyard-request-id to the upstream call (exact correlation), or not (prompt matching). */
  forwardRequestId?: boolean;
  /** Also retry (at once, ignoring Retry-After) on these statuses, e.g. [429]. */
  retryStatuses?: number[];
  /** Asked model → upstream model (default: unchanged). */
  models?: Record<string, string>;
  /** On a 400 naming a refused parameter (`error.param`), send the request once more without it. */
  rewriteRefusedParameter?: boolean;
  /** A header every caller must send (a virtual key): without it, a 401 and nothing goes upstream. */
  requireHeader?: { name: string; value: string };
}

export interface StandIn {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:41234/v1. */
  url: string;
  /** Requests received from callers. */
  received: number;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

export async function startGatewayStandIn(options: StandInOptions): Promise<StandIn> {
  const sockets = new Set<Socket>();
  const state = { received: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    state.received++;
    const required = options.requireHeader;
    const sent = required && req.headers[required.name.toLowerCase()];
    if (required && sent !== required.value) {
      // Echoes what it was sent, as some gateways do: the harness must not print it.
      const message = sent ? `virtual key ${String(sent)} is not valid` : 'missing virtual key';
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message, type: 'authentication_error' } }));
      return;
    }
    const body = await readJson(req);
    const model = String(body.model);
    let upstreamBody = JSON.stringify({ ...body, model: options.models?.[model] ?? model });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: 'Bearer sk-test-stand-in-upstream-key',
    };
    const id = req.headers['x-switchyard-request-id'];
    if (options.forwardRequestId && typeof id === 'string') headers['x-switchyard-request-id'] = id;
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let response: Response | undefined;
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      try {
        response = await fetch(`${options.upstream()}/chat/completions`, {
          method: 'POST',
          headers,
          body: upstreamBody,
          signal: abort.signal,
        });
      } catch {
        response = undefined;
        if (abort.signal.aborted) return;
        continue;
      }
      if (options.rewriteRefusedParameter && response.status === 400 && attempt < options.retries) {
        const refused = ((await response.clone().json()) as { error?: { param?: string } }).error?.param;
        if (refused) {
          const { [refused]: _dropped, ...rest } = JSON.parse(upstreamBody) as Record<string, unknown>;
          upstreamBody = JSON.stringify(rest);
          await response.body?.cancel();
          continue;
        }
      }
      if (response.status < 500 && !options.retryStatuses?.includes(response.status)) break;
      if (attempt < options.retries) await response.body?.cancel();
    }
    if (!response) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"upstream connection failed","type":"bad_gateway"}}');
      return;
    }
    const out: Record<string, string> = {};
    for (const name of ['content-type', 'retry-after', 'retry-after-ms']) {
      const value = response.headers.get(name);
      if (value !== null) out[name] = value;
    }
    res.writeHead(response.status, out);
    if (!response.body) {
      res.end();
      return;
    }
    // Pass the body through as it comes; a body cut upstream is cut here too.
    const body$ = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    body$.on('error', () => res.destroy());
    body$.pipe(res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(500).end();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get received() {
      return state.received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
