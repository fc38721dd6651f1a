/**
 * Reading the providers' wire formats back: the answer text and the in-band error in a body or a
 * stream, whether a stream ended with its terminator, and the texts a request carries. The simulator
 * writes these formats (openai.ts, anthropic.ts, ollama.ts, wire.ts); code that watches provider
 * traffic it did not make (the harness's log of a gateway's upstream calls) reads them here.
 */
import type { Provider } from '../../runtime/types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error a provider put in a body or a stream event: OpenAI and Anthropic `{error:{…}}`, Ollama `{error:"…"}`. */
export interface WireError {
  message: string;
  type?: string;
  code?: string;
}

export function errorOf(value: unknown): WireError | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.error === 'string') return { message: value.error };
  const inner = isRecord(value.error) ? value.error : undefined;
  if (!inner) return undefined;
  return {
    message: typeof inner.message === 'string' ? inner.message : 'error event',
    ...(typeof inner.type === 'string' ? { type: inner.type } : {}),
    ...(typeof inner.code === 'string' ? { code: inner.code } : {}),
  };
}

/** The answer text one stream event (or, `stream` false, one whole body) carries. */
function textOf(provider: Provider | undefined, value: unknown, stream: boolean): string {
  if (!isRecord(value)) return '';
  if (provider === 'anthropic') {
    if (!stream && Array.isArray(value.content))
      return value.content.map((b) => (isRecord(b) && typeof b.text === 'string' ? b.text : '')).join('');
    const delta = value.delta;
    return value.type === 'content_block_delta' && isRecord(delta) && typeof delta.text === 'string'
      ? delta.text
      : '';
  }
  if (provider === 'ollama') {
    if (isRecord(value.message) && typeof value.message.content === 'string') return value.message.content;
    return typeof value.response === 'string' ? value.response : '';
  }
  const choice = Array.isArray(value.choices) ? value.choices[0] : undefined;
  const message = isRecord(choice) ? (stream ? choice.delta : choice.message) : undefined;
  return isRecord(message) && typeof message.content === 'string' ? message.content : '';
}

/**
 * The event that proves a stream whole: Anthropic's message_stop, Ollama's `done: true`, and for
 * OpenAI a finish_reason (the router's own rule: `[DONE]` alone proves nothing).
 */
function isEndEvent(provider: Provider | undefined, event: unknown): boolean {
  if (!isRecord(event)) return false;
  if (provider === 'anthropic') return event.type === 'message_stop';
  if (provider === 'ollama') return event.done === true;
  const choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
  return isRecord(choice) && typeof choice.finish_reason === 'string';
}

/** What a provider answered in a 2xx body or stream, read from its raw text. */
export interface WireAnswer {
  text: string;
  /** An error inside the answer (a `{"error": …}` body or stream event). */
  error?: WireError;
  /** A body or an event that is not JSON. */
  malformed?: true;
  /** A stream that ended before its terminator (finish_reason, message_stop, done: true). */
  cut?: true;
}

/** Reads a chat answer (OpenAI chat completions, Anthropic messages, Ollama chat and generate). */
export function readAnswer(provider: Provider | undefined, stream: boolean, raw: string): WireAnswer {
  if (!stream) {
    const body = parseJson(raw);
    if (body === undefined) return { text: '', malformed: true };
    const error = errorOf(body);
    return error ? { text: '', error } : { text: textOf(provider, body, false) };
  }
  let text = '';
  let error: WireError | undefined;
  let malformed = false;
  let ended = false;
  for (const line of raw.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('event:') || trimmed.startsWith(':')) continue;
    const payload = trimmed.startsWith('data:') ? trimmed.slice(5).trim() : trimmed;
    if (payload === '[DONE]') continue;
    const event = parseJson(payload);
    if (event === undefined) {
      malformed = true;
      continue;
    }
    error ??= errorOf(event);
    text += textOf(provider, event, true);
    ended ||= isEndEvent(provider, event);
  }
  return {
    text,
    ...(error ? { error } : {}),
    ...(malformed ? { malformed: true as const } : {}),
    ...(!ended && !error ? { cut: true as const } : {}),
  };
}

/** Every text a chat request body carries (messages, system, prompt), in any of the three formats. */
export function requestText(body: unknown): string {
  if (!isRecord(body)) return '';
  const parts: string[] = [];
  const push = (content: unknown) => {
    if (typeof content === 'string') parts.push(content);
    else if (Array.isArray(content))
      for (const part of content) if (isRecord(part) && typeof part.text === 'string') parts.push(part.text);
  };
  push(body.system);
  push(body.prompt);
  if (Array.isArray(body.messages)) for (const m of body.messages) if (isRecord(m)) push(m.content);
  return parts.join('\n');
}
