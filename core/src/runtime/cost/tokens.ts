// The single-encoding module: loads only o200k's ranks, not every encoding the package ships.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
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

function count(text: string): number {
  return text.length === 0 ? 0 : countTokens(text, PLAIN_TEXT);
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
