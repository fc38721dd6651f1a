/**
 * What the fault catalogue needs to know about one provider, so that each fault is written once:
 * how the provider words each failure (status, error type, message, headers), how it frames a stream
 * and ends it, where the answer text and the finish reason live in its answers, and its in-stream
 * error event. One file per provider implements it (providers/openai.ts, anthropic.ts, ollama.ts);
 * adding a provider to the catalogue is adding one such file to providers/index.ts.
 */
import type { Provider } from '../../runtime/types.ts';
import { errorResponse } from '../simulator/index.ts';
import type { FaultAction, FaultContext } from './fault.ts';
import type { Random } from './prng.ts';
import type { FrameOp, Framing } from './streams.ts';
import type { ProviderErrorSpec, RequestInfo } from './wire.ts';

/**
 * An error answer as the provider gives it: its JSON error in its own envelope, or (`page`) the HTML
 * page of the load balancer in front of it, with that reason phrase.
 */
export type ErrorAnswer = { status: number; error: ProviderErrorSpec } | { status: number; page: string };

/** A JSON error answer. */
export const jsonError = (status: number, error: ProviderErrorSpec): ErrorAnswer => ({ status, error });

/** How an answer was cut short, named neutrally (each provider has its own finish reason for it). */
export type Finish = 'length' | 'content_filter';

/** What a rate-limit answer says; the neutral part (the Retry-After header in seconds) is added to it. */
export interface RateLimitSpec {
  model: string | undefined;
  retryAfterMs: number;
  limitType: 'requests' | 'tokens';
  /** Send the provider's own millisecond header too, where it has one. */
  retryAfterMsHeader: boolean;
  now: number;
}

/** Rewrites one text delta (or the whole text of an answer). */
export type TextEdit = (text: string) => string;

export interface ProviderDialect {
  readonly provider: Provider;
  readonly framing: Framing;
  /** A request id in this provider's form, drawn from `random`. */
  requestId(random: Random): string;
  /** Streams unless the request says `stream: false` (Ollama); otherwise only with `stream: true`. */
  readonly streamsByDefault?: boolean;
  /** Whether a request body asks for JSON output (its JSON-mode or structured-output field). */
  asksForJson(body: Record<string, unknown>): boolean;
  /** JSON mode comes by instruction (no request flag): a fault about JSON mode applies to every call. */
  readonly jsonByInstruction?: boolean;
  /** How it words each failure; a failure it lacks (no answer of that kind exists) is left out. */
  readonly errors: {
    rate_limit(spec: RateLimitSpec): ErrorAnswer;
    quota_exhausted?(): ErrorAnswer;
    server_error(): ErrorAnswer;
    service_unavailable(): ErrorAnswer;
    gateway_timeout(): ErrorAnswer;
    overloaded(): ErrorAnswer;
    /** `param` '' for the parameter this provider typically rejects. */
    unsupported_parameter(param: string, model: string | undefined): ErrorAnswer;
    context_length_exceeded?(limit: number, requested: number): ErrorAnswer;
    invalid_api_key(headers: Headers): ErrorAnswer;
  };
  /** Its finish reason for each way of cutting an answer short; absent where it has none. */
  readonly finishes: Partial<Record<Finish, string>>;
  /**
   * Its error event inside a 200 stream, in place of frame `index`: `errorType` is the error type
   * where the provider has types, `message` '' for its usual message.
   */
  streamError(spec: { errorType: string; message: string }, index: number, info: RequestInfo): string;
  /** Whether a frame is the one that marks a complete stream ([DONE], message_stop, done: true…). */
  isTerminalFrame(frame: string): boolean;
  /** Rewrites the text of a whole JSON answer in place, and its finish reason when `finish` is given. */
  editAnswer(json: unknown, edit: TextEdit, finish: string | undefined, info: RequestInfo): void;
  /**
   * A frame editor for one stream: every text delta goes through `edit` (a frame left with no text is
   * dropped) and the finish reason becomes `finish` when given. Undefined: the frame passes unchanged.
   */
  frameEditor(
    edit: TextEdit,
    finish: string | undefined,
    info: RequestInfo,
  ): (frame: string) => FrameOp | undefined;
}

/** Like a real load balancer (Cloudflare/nginx): an HTML page, not the provider's JSON. */
export function htmlErrorResponse(status: number, reason: string): Response {
  const html =
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n` +
    `<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`;
  return new Response(html, { status, headers: { 'content-type': 'text/html', server: 'cloudflare' } });
}

/** Answers with an error the dialect worded (a JSON error gets a provider-shaped request id). */
export function errorAction(ctx: FaultContext, answer: ErrorAnswer): FaultAction {
  if ('page' in answer) return { kind: 'respond', response: htmlErrorResponse(answer.status, answer.page) };
  return {
    kind: 'respond',
    response: errorResponse(ctx.info.provider, answer.status, {
      requestId: ctx.requestId(),
      ...answer.error,
    }),
  };
}
