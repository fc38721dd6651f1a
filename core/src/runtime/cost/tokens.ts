// The single-encoding module (only o200k's ranks, not every encoding the package ships), loaded on the
// first count: its tables are the largest part of an idle router's memory.
import { loadO200k } from '../../lazy.ts';
import type { Price } from '../config/schema.ts';
import type { ChatRequest } from '../types.ts';

/*
 * Input token estimate with OpenAI's o200k_base encoding (gpt-4o, gpt-4.1, gpt-5, o-series).
 * Anthropic's and most Ollama models' tokenizers are not public (or differ per model), so for them
 * this is an approximation; Claude's tokenizer usually yields somewhat more tokens for the same text,
 * which is why callers that need a hard bound can pass an input margin.
 */

/** Chat framing per message (<|start|>{role}<|message|> … <|end|>), as in OpenAI's counting recipe. */
const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with <|start|>assistant<|message|>. */
const REPLY_PRIMING_TOKENS = 3;
/** Framing per tool call / tool definition beyond its own text (name, id, JSON wrapper). */
const TOKENS_PER_TOOL = 8;

// User text may contain strings that look like special tokens: count them as plain text, never throw.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/*
 * Counting is a BPE pass (~20 µs even for a one-line prompt, the largest per-request cost of the router),
 * and the same texts come back on every call: roles, system prompts, the history of a conversation, tool
 * schemas. So counts are memoised by text, in a FIFO bounded by entries and total characters; texts longer
 * than MAX_CACHED_CHARS are counted each time (their count costs far more than the lookup anyway).
 */
const MAX_CACHED_CHARS = 16_384;
const MAX_CACHE_ENTRIES = 4_096;
const MAX_CACHE_TOTAL_CHARS = 2_000_000;
const counts = new Map<string, number>();
let cachedChars = 0;

function count(text: string): number {
  if (text.length === 0) return 0;
  const hit = counts.get(text);
  if (hit !== undefined) return hit;
  const n = loadO200k().countTokens(text, PLAIN_TEXT);
  if (text.length <= MAX_CACHED_CHARS) {
    while (counts.size >= MAX_CACHE_ENTRIES || cachedChars + text.length > MAX_CACHE_TOTAL_CHARS) {
      const oldest = counts.keys().next().value as string;
      counts.delete(oldest);
      cachedChars -= oldest.length;
    }
    counts.set(text, n);
    cachedChars += text.length;
  }
  return n;
}

/** Tokens of a model's answer text. Not memoised: answers rarely repeat, and would evict prompts. */
export function countOutputTokens(text: string): number {
  return text.length === 0 ? 0 : loadO200k().countTokens(text, PLAIN_TEXT);
}

/** Estimated input tokens of a request: message texts, roles, tool calls and tool definitions. */
export function estimateInputTokens(request: ChatRequest): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    total += TOKENS_PER_MESSAGE + count(message.role) + count(message.content);
    if (message.toolCallId) total += count(message.toolCallId);
    for (const call of message.toolCalls ?? []) {
      total += TOKENS_PER_TOOL + count(call.id) + count(call.name) + count(call.arguments);
    }
  }
  // Providers render tool schemas into the prompt in their own formats; the JSON text is close.
  for (const tool of request.tools ?? []) {
    total +=
      TOKENS_PER_TOOL +
      count(tool.name) +
      count(tool.description ?? '') +
      count(JSON.stringify(tool.parameters));
  }
  return total;
}

export interface CostEstimateOptions {
  /** Multiplies the input estimate (e.g. 1.3 for non-OpenAI tokenizers when a hard bound matters). Default 1. */
  inputMargin?: number;
}

/**
 * The most a call can cost, for budget reservations: estimated input at the input price plus the
 * full output allowance (the request's maxOutputTokens, else the default) at the output price.
 * Output is bounded by max tokens, so the reservation is an upper bound up to the input estimate.
 */
export function estimateRequestCostUsd(
  request: ChatRequest,
  price: Price,
  maxOutputTokensDefault: number,
  options: CostEstimateOptions = {},
): number {
  const inputTokens = Math.ceil(estimateInputTokens(request) * (options.inputMargin ?? 1));
  const outputTokens = request.maxOutputTokens ?? maxOutputTokensDefault;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
