import type { z } from 'zod';
import { formatFieldPath } from '../runtime/config/locate.ts';
import type { ChatRequest, ChatResponse, ProviderStreamEvent } from '../runtime/types.ts';
import { GatewayError } from './errors.ts';

/**
 * One provider API the gateway speaks (OpenAI's chat completions, Anthropic's messages): how its
 * requests become a ChatRequest, and how answers, stream events and errors go back in its wire
 * format. The server has one handler for every dialect; only this translation differs.
 */
export interface Dialect {
  readonly name: 'openai' | 'anthropic';
  /** The body as a router request; a malformed body throws a 400 GatewayError naming the field. */
  parse(body: unknown): ParsedCall;
  completion(response: ChatResponse, created: number): unknown;
  encoder(stream: StreamStart): StreamEncoder;
  errorBody(error: GatewayError): unknown;
}

export interface ParsedCall {
  request: ChatRequest;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: a last chunk with the usage. */
  includeUsage: boolean;
}

export interface StreamStart {
  /** The gateway's request id, the stream's id until the provider's is known. */
  requestId: string;
  /** The deployment's model, until the provider names the one that answered. */
  model: string;
  created: number;
  includeUsage: boolean;
}

/** Turns the router's stream events into server-sent events (text ready to write). */
export interface StreamEncoder {
  start(): string;
  event(event: ProviderStreamEvent): string;
  done(response: ChatResponse): string;
  error(error: GatewayError): string;
}

/** A schema failure as a 400: the first issue, with the field it is about. */
export function parseOr400<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = formatFieldPath(issue.path as (string | number)[]);
  throw new GatewayError(400, 'bad_request', field ? `${field}: ${issue.message}` : issue.message, {
    ...(field ? { param: field } : {}),
  });
}

/** One server-sent event; `event:` only where the API names its events (Anthropic). */
export function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}
