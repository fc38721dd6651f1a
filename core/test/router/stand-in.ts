import { type Clock, nextTurn, type VirtualClock } from '../../src/runtime/clock.ts';

/**
 * A scripted OpenAI-compatible stand-in: each origin answers from its own queue of steps (then
 * with a plain success), and records when (on the router's clock) each call arrived. The router's
 * decisions are the subject here; the faithful simulator has its own contract tests.
 *
 * It is delivered as the `fetch` the SDKs call (the same in-process delivery scenario runs use):
 * the real SDKs build real requests and parse real Responses, and with no socket in between every
 * step is promise-driven, so a virtual clock can be advanced deterministically however loaded the
 * machine is.
 */
export type Step =
  | { kind: 'ok'; text?: string; usage?: { prompt: number; completion: number }; finish?: string }
  | { kind: 'error'; status: number; body: Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'stall-body' }
  /** `usage`: what the final usage chunk carries (default: 10 prompt tokens, a token per chunk); null: no usage chunk. `finish`: the finish reason (default stop). */
  | { kind: 'stream'; chunks: string[]; cut?: boolean; stall?: boolean; usage?: unknown; finish?: string }
  /** A plain success whose JSON body arrives in `pieces` chunks, `everyMs` apart on the clock. */
  | { kind: 'trickle-ok'; text?: string; pieces: number; everyMs: number }
  /** Accepts the request and never answers (no headers) until it is aborted: a black-holed deployment. */
  | { kind: 'black-hole' }
  | { kind: 'delay-ok'; ms: number; text?: string }
  /** A 200 whose completion carries `content` as given (any JSON value) and `usage` as given (or none). */
  | { kind: 'raw-ok'; content: unknown; usage?: unknown };

export interface Call {
  origin: string;
  at: number;
  body: Record<string, unknown>;
  headers: Headers;
}

const encoder = new TextEncoder();

export function createStandIn(clock: Clock) {
  const queues = new Map<string, Step[]>();
  const calls: Call[] = [];
  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (request.method !== 'POST' || !url.pathname.endsWith('/chat/completions')) {
      return Response.json({ error: { message: 'not found' } }, { status: 404 });
    }
    const body = (await request.json()) as Record<string, unknown>;
    calls.push({ origin: url.host, at: clock.now(), body, headers: request.headers });
    const step = queues.get(url.host)?.shift() ?? { kind: 'ok' };
    return respond(step, body, clock, request.signal);
  };
  return {
    /** The fetch to hand the Router: every SDK call lands here. */
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      handle(new Request(input, init))) as typeof fetch,
    calls,
    /** Appends steps to an origin's queue (origin = host:port of the deployment's baseURL). */
    script(origin: string, ...steps: Step[]) {
      queues.set(origin, [...(queues.get(origin) ?? []), ...steps]);
    },
    callsTo(origin: string) {
      return calls.filter((c) => c.origin === origin);
    },
    reset() {
      queues.clear();
      calls.length = 0;
    },
  };
}

function completion(text: string, usage = { prompt: 10, completion: 5 }, finish = 'stop', model = 'gpt-4.1') {
  return {
    id: 'chatcmpl-standin',
    object: 'chat.completion',
    created: 1_767_225_600,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: usage.prompt,
      completion_tokens: usage.completion,
      total_tokens: usage.prompt + usage.completion,
    },
  };
}

async function respond(
  step: Step,
  body: Record<string, unknown>,
  clock: Clock,
  signal: AbortSignal,
): Promise<Response> {
  const model = String(body.model);
  switch (step.kind) {
    case 'ok':
      // A streamed request gets the same answer as a stream, a word per chunk.
      if (body.stream === true) {
        const chunks = wordsOf(step.text ?? 'hello from the stand-in');
        const { prompt, completion } = step.usage ?? { prompt: 10, completion: chunks.length };
        const usage = {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: prompt + completion,
        };
        return respond({ kind: 'stream', chunks, usage }, body, clock, signal);
      }
      return Response.json(
        completion(step.text ?? 'hello from the stand-in', step.usage, step.finish, model),
      );
    case 'delay-ok':
      await clock.sleep(step.ms, signal).catch(() => undefined);
      return Response.json(completion(step.text ?? 'late answer', undefined, 'stop', model));
    case 'raw-ok': {
      const { usage: _usage, ...answer } = completion('', undefined, 'stop', model);
      const [choice] = answer.choices;
      const body = {
        ...answer,
        choices: [{ ...choice, message: { ...choice!.message, content: step.content } }],
        ...('usage' in step ? { usage: step.usage } : {}),
      };
      return Response.json(body);
    }
    case 'error':
      return Response.json(step.body, { status: step.status, headers: step.headers ?? {} });
    case 'trickle-ok': {
      // Sliced as bytes: a multi-byte character may straddle two chunks, as on a socket.
      const json = encoder.encode(
        JSON.stringify(completion(step.text ?? 'slowly but surely', undefined, 'stop', model)),
      );
      const size = Math.ceil(json.length / step.pieces);
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (sent > 0) await clock.sleep(step.everyMs, signal).catch(() => undefined);
            if (signal.aborted) return controller.error(signal.reason);
            controller.enqueue(json.slice(sent, sent + size));
            sent += size;
            if (sent >= json.length) controller.close();
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    }
    case 'black-hole':
      return new Promise<Response>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    case 'stall-body':
      // Headers now, then a body that never completes.
      return new Response(
        abortable(signal, (controller) =>
          controller.enqueue(encoder.encode('{"id":"chatcmpl-stall","choices":[')),
        ),
        { headers: { 'content-type': 'application/json' } },
      );
    case 'stream': {
      // MSW hands the client its headers only with the first body bytes; real servers send them at
      // once. An SSE comment (ignored by every SSE parser) makes the headers arrive like they would.
      const chunks = [': stream open\n\n'];
      chunks.push(
        ...step.chunks.map((text, i) =>
          sseEvent({
            id: 'chatcmpl-s',
            object: 'chat.completion.chunk',
            created: 1_767_225_600,
            model,
            choices: [
              {
                index: 0,
                delta: i === 0 ? { role: 'assistant', content: text } : { content: text },
                finish_reason: null,
              },
            ],
          }),
        ),
      );
      if (!step.cut && !step.stall) {
        chunks.push(
          sseEvent({
            id: 'chatcmpl-s',
            object: 'chat.completion.chunk',
            created: 1,
            model,
            choices: [{ index: 0, delta: {}, finish_reason: step.finish ?? 'stop' }],
          }),
          ...(step.usage === null
            ? []
            : [
                sseEvent({
                  id: 'chatcmpl-s',
                  object: 'chat.completion.chunk',
                  created: 1,
                  model,
                  choices: [],
                  usage: step.usage ?? {
                    prompt_tokens: 10,
                    completion_tokens: step.chunks.length,
                    total_tokens: 10 + step.chunks.length,
                  },
                }),
              ]),
          'data: [DONE]\n\n',
        );
      }
      return new Response(
        abortable(signal, (controller) => {
          for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
          if (!step.stall) controller.close();
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    }
  }
}

/** A body that errors when the request is aborted, as a socket-backed body would. */
function abortable(
  signal: AbortSignal,
  start: (controller: ReadableStreamDefaultController<Uint8Array>) => void,
) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      start(controller);
      signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
    },
  });
}

function wordsOf(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [text];
}

function sseEvent(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const rateLimited = (retryAfterSeconds: number): Step => ({
  kind: 'error',
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  body: {
    error: {
      message: 'Rate limit reached for gpt-4.1 on requests per min (RPM)',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
  },
});

export const serverError = (): Step => ({
  kind: 'error',
  status: 500,
  body: {
    error: {
      message: 'The server had an error while processing your request.',
      type: 'server_error',
      param: null,
      code: null,
    },
  },
});

export const badRequest = (): Step => ({
  kind: 'error',
  status: 400,
  body: {
    error: {
      message: "Invalid value for 'messages'.",
      type: 'invalid_request_error',
      param: 'messages',
      code: null,
    },
  },
});

export const contextOverflow = (): Step => ({
  kind: 'error',
  status: 400,
  body: {
    error: {
      message:
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
  },
});

export const unsupportedMaxTokens = (): Step => ({
  kind: 'error',
  status: 400,
  body: {
    error: {
      message:
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'unsupported_parameter',
    },
  },
});

/**
 * Runs `promise` to completion on a virtual clock: lets the event loop settle (no new timer and no
 * new call for `quietTurns` turns in a row; the scenario runner settles on 3), then jumps to the
 * next timer, until the promise settles. Delivery is in-process, so "settled" is a property of
 * promise turns, not of wall time. Bounded: at most `maxJumps` timer jumps.
 */
export async function drive<T>(
  clock: VirtualClock,
  promise: Promise<T>,
  observe: () => number = () => 0,
  { quietTurns = 8, maxJumps = 100_000 }: { quietTurns?: number; maxJumps?: number } = {},
): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let jump = 0; jump < maxJumps && !settled; jump++) {
    let quiet = 0;
    let last = '';
    while (quiet < quietTurns && !settled) {
      await nextTurn();
      const now = `${clock.pendingTimers}/${clock.nextTimerAt()}/${observe()}`;
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    if (settled) break;
    if (!(await clock.runNext(0))) throw new Error('deadlock: the promise is pending and no timer is due');
  }
  if (!settled) throw new Error(`not settled after ${maxJumps} timer jumps`);
  return promise;
}
