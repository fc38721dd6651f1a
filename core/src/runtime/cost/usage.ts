import type { Usage } from '../types.ts';
import { countOutputTokens } from './tokens.ts';

/**
 * Provider usage figures are checked before they are billed: a negative, non-numeric or absurd
 * count gave a negative, NaN or Infinity cost, and the ledger was charged $0; a response without
 * usage (which the adapters report as zeros) was charged $0 too. What cannot be billed as reported is
 * replaced by an estimate from the tokens the router counts itself, and marked as estimated.
 */

/** Beyond these, a count is not a count but a bug (the largest context windows are ~2M tokens). */
const MAX_INPUT_TOKENS = 10_000_000;
const MAX_OUTPUT_TOKENS = 1_000_000;

const USAGE_FIELDS = ['inputTokens', 'outputTokens', 'cachedInputTokens'] as const;

export interface UsageContext {
  /** The output limit the attempt sent (max tokens): a provider cannot have produced more. */
  outputLimit: number | undefined;
  /** The answer carried text or tool calls, so it had output tokens. */
  answered: boolean;
}

/** Why `usage` cannot be billed as reported, or undefined when it can. */
export function usageProblem(usage: Usage | undefined, context: UsageContext): string | undefined {
  if (usage === undefined || usage === null || typeof usage !== 'object') return 'no usage reported';
  for (const field of USAGE_FIELDS) {
    const value: unknown = usage[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      return `${field} is ${typeof value === 'number' ? value : typeof value}`;
  }
  // Every prompt has tokens (the chat framing alone): zero input means the provider reported none.
  if (usage.inputTokens === 0) return 'no input tokens reported';
  if (context.answered && usage.outputTokens === 0) return 'no output tokens reported for an answer';
  if (usage.cachedInputTokens > usage.inputTokens) return 'more cached input tokens than input tokens';
  if (usage.inputTokens > MAX_INPUT_TOKENS) return `inputTokens ${usage.inputTokens} is implausible`;
  const outputLimit = context.outputLimit ?? MAX_OUTPUT_TOKENS;
  if (usage.outputTokens > outputLimit)
    return `outputTokens ${usage.outputTokens} is above the output limit ${outputLimit}`;
  return undefined;
}

/**
 * Usage estimated by the router: the prompt as it counted it, and the output it received counted
 * with the same tokenizer (capped at the output limit, which the provider cannot have passed).
 */
export function estimatedUsage(
  inputTokens: number,
  outputText: string,
  outputLimit: number | undefined,
): Usage {
  const counted = countOutputTokens(outputText);
  return {
    inputTokens,
    outputTokens: outputLimit === undefined ? counted : Math.min(counted, outputLimit),
    cachedInputTokens: 0,
  };
}
