import table from '../../../data/prices.json' with { type: 'json' };
import type { Price } from '../config/schema.ts';
import type { ProviderKind, Usage } from '../types.ts';

export type { Price } from '../config/schema.ts';

/** What the shared price table knows about one model (prices in USD per million tokens). */
export interface ModelInfo {
  /** The table's name for the model (the matched entry, e.g. 'gpt-4.1' for 'gpt-4.1-2025-04-14'). */
  model: string;
  provider: ProviderKind;
  input: number;
  output: number;
  cachedInput: number;
  contextWindow?: number;
  maxOutputTokens?: number;
  /** OpenAI reasoning model (max_completion_tokens, fixed temperature). */
  reasoning?: boolean;
  note?: string;
}

interface TableEntry {
  provider: string;
  input: number;
  output: number;
  cachedInput: number;
  contextWindow?: number;
  maxOutputTokens?: number;
  reasoning?: boolean;
  note?: string;
}

/** When the table's figures were taken, and from where. */
export const PRICE_TABLE_AS_OF: string = table.asOf;
export const PRICE_TABLE_SOURCE: string = table.source;

const MODELS: Readonly<Record<string, TableEntry>> = table.models;

/**
 * What may follow a known name for the prefix match to count: a dated snapshot ('-2025-04-14',
 * '-20250514'), '-latest', or an Ollama tag / Vertex version (':3b', '@20250929'). Anything else is
 * a different model: 'o3-pro' must not borrow o3's price, nor 'gpt-4o-mini' gpt-4o's, because an
 * underpriced model lets a budget be overspent.
 */
const SNAPSHOT_SUFFIX = /^(?:-\d{4}-?\d{2}-?\d{2}|-latest|[:@].*)$/;

/** Exact name first, then the longest known name that the model extends with a snapshot suffix. */
function lookup<T>(model: string, entries: Readonly<Record<string, T>>): [string, T] | undefined {
  const exact = Object.hasOwn(entries, model) ? entries[model] : undefined;
  if (exact !== undefined) return [model, exact];
  let best: [string, T] | undefined;
  for (const [name, entry] of Object.entries(entries)) {
    if (!model.startsWith(name) || !SNAPSHOT_SUFFIX.test(model.slice(name.length))) continue;
    if (!best || name.length > best[0].length) best = [name, entry];
  }
  return best;
}

/**
 * The price of a model: config overrides first (exact, then prefix), then the shared table.
 * Unknown models return undefined; the caller decides what an unpriced call means.
 */
export function priceFor(model: string, overrides?: Readonly<Record<string, Price>>): Price | undefined {
  if (overrides) {
    const hit = lookup(model, overrides);
    if (hit) return hit[1];
  }
  const hit = lookup(model, MODELS);
  if (!hit) return undefined;
  const { input, output, cachedInput } = hit[1];
  return { input, output, cachedInput };
}

/** Everything the table knows about a model (prices, context window, output limit), or undefined. */
export function modelInfo(model: string): ModelInfo | undefined {
  const hit = lookup(model, MODELS);
  if (!hit) return undefined;
  const [name, entry] = hit;
  return { ...entry, model: name, provider: entry.provider as ProviderKind };
}

/** All model names in the table (for catalogues and docs). */
export function knownModels(): string[] {
  return Object.keys(MODELS);
}

/**
 * USD cost of one call. Cached input tokens are part of `inputTokens` (as both OpenAI and the
 * adapters report them) and are billed at `cachedInput` (falling back to `input`); the rest at `input`.
 */
export function costUsd(usage: Usage, price: Price): number {
  const cached = Math.min(Math.max(usage.cachedInputTokens, 0), usage.inputTokens);
  const uncached = usage.inputTokens - cached;
  const millionths =
    uncached * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output;
  return millionths / 1_000_000;
}
