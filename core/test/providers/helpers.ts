import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { expect, vi } from 'vitest';
import type { DeploymentConfig } from '../../src/runtime/config/schema.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import type { AttemptContext } from '../../src/runtime/providers/adapter.ts';

// Not port 9 or other Fetch-spec "bad ports": undici refuses them before MSW sees the request.
export const FAKE_KEY = 'sk-test-not-a-real-key';
export const OPENAI_BASE = 'http://127.0.0.1:4010/v1';
export const ANTHROPIC_BASE = 'http://127.0.0.1:4010';
export const OLLAMA_BASE = 'http://127.0.0.1:4010';

export const server = setupServer();

export function deployment(
  overrides: Partial<DeploymentConfig> & Pick<DeploymentConfig, 'provider' | 'model'>,
) {
  return {
    id: `${overrides.provider}-${overrides.model}`,
    weight: 1,
    tags: [],
    ...overrides,
  } as DeploymentConfig;
}

export function attemptContext(overrides: Partial<AttemptContext> = {}) {
  const onResponseHeaders = vi.fn<(status: number, headers: Headers) => void>();
  const context: AttemptContext = { signal: new AbortController().signal, onResponseHeaders, ...overrides };
  return { context, onResponseHeaders };
}

/** A handler that records each request's JSON body and answers with `respond`. */
export function recordPost(
  url: string,
  respond: (body: unknown, request: Request) => Response | Promise<Response>,
) {
  const bodies: unknown[] = [];
  const headers: Headers[] = [];
  server.use(
    http.post(url, async ({ request }) => {
      const body = await request.json();
      bodies.push(body);
      headers.push(request.headers);
      return respond(body, request);
    }),
  );
  return { bodies, headers };
}

const encoder = new TextEncoder();

/** A streamed body that sends `chunks` and then closes (or stays open forever when `stall` is set). */
export function streamBody(
  chunks: readonly string[],
  options: { stall?: boolean } = {},
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!options.stall) controller.close();
    },
  });
}

export function sse(events: readonly unknown[], options: { done?: boolean } = {}): string[] {
  const out = events.map((event) => `data: ${JSON.stringify(event)}\n\n`);
  if (options.done !== false) out.push('data: [DONE]\n\n');
  return out;
}

export function namedSse(events: readonly { event: string; data: unknown }[]): string[] {
  return events.map(({ event, data }) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * A streamed response. It must say `transfer-encoding: chunked` (as real servers do): without it MSW 3 frames
 * the body by connection close, and aborting the read makes undici hit `assert(!this.aborted)` as an uncaught
 * exception when the mock socket closes.
 */
export function streamedResponse(
  chunks: readonly string[],
  contentType: string,
  options: { stall?: boolean } = {},
) {
  return new HttpResponse(streamBody(chunks, options), {
    headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
  });
}

export function sseResponse(chunks: readonly string[], options: { stall?: boolean } = {}) {
  return streamedResponse(chunks, 'text/event-stream', options);
}

export function ndjsonResponse(lines: readonly string[], options: { stall?: boolean } = {}) {
  return streamedResponse(lines, 'application/x-ndjson', options);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Awaits a rejection and checks it is a SwitchyardError. */
export async function rejection(promise: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SwitchyardError);
    return error as SwitchyardError;
  }
  throw new Error('expected a rejection');
}

/** Aborts with a router-style SwitchyardError after `ms` and checks the call rejects with that same error, fast. */
export async function expectRouterAbort(run: (signal: AbortSignal) => Promise<unknown>, ms = 50) {
  const controller = new AbortController();
  const reason = new SwitchyardError('timeout', { message: 'attempt deadline', timeoutPhase: 'idle' });
  const started = performance.now();
  setTimeout(() => controller.abort(reason), ms);
  const error = await rejection(run(controller.signal));
  const elapsed = performance.now() - started;
  expect(error).toBe(reason);
  expect(elapsed).toBeLessThan(2_000);
}
