import { readFileSync } from 'node:fs';
import type { Provider } from '../../runtime/types.ts';
import type { LatencyProfile } from './latency.ts';

/**
 * A request parameter a model refuses. `unsupported`: present at all → 400 unsupported_parameter
 * (with a hint to `use` another). `default-only`: any value but the default → 400 unsupported_value.
 */
export type ParamRule =
  | { param: string; kind: 'unsupported'; use?: string }
  | { param: string; kind: 'default-only'; defaultValue: number }
  | { params: readonly [string, string]; kind: 'mutually-exclusive' };

export interface OllamaDetails {
  family: string;
  parameterSize: string;
  quantization: string;
  sizeBytes: number;
}

export interface ModelSpec {
  provider: Provider;
  /** Context window in tokens (input + output for OpenAI/Anthropic; default num_ctx for Ollama). */
  contextWindow: number;
  /** Largest max-tokens value the provider accepts. */
  maxOutputTokens: number;
  /** Model name the provider reports back (dated snapshot); the requested name when absent. */
  servedAs?: string;
  /** OpenAI reasoning model: spends hidden reasoning tokens before visible output. */
  reasoning?: boolean;
  /**
   * An embedding model (served by /v1/embeddings only): its vector length, and whether the
   * `dimensions` parameter may shorten it (text-embedding-3-*, not ada-002).
   */
  embedding?: { dimensions: number; shortenable: boolean };
  rejectedParams?: readonly ParamRule[];
  latency: LatencyProfile;
  /** Per-minute limits reported in rate-limit headers (not enforced: that is a fault's job). */
  rateLimits?: { requests: number; tokens: number };
  /** Anthropic /v1/models display name. */
  displayName?: string;
  /** Unix seconds; OpenAI /v1/models `created`. */
  created?: number;
  ollama?: OllamaDetails;
}

export type ModelCatalogue = Readonly<Record<string, ModelSpec>>;

const REASONING_RULES: readonly ParamRule[] = [
  { param: 'max_tokens', kind: 'unsupported', use: 'max_completion_tokens' },
  { param: 'temperature', kind: 'default-only', defaultValue: 1 },
  { param: 'top_p', kind: 'default-only', defaultValue: 1 },
];

// Newer Claude models refuse temperature and top_p together.
const CLAUDE_4_RULES: readonly ParamRule[] = [
  { params: ['temperature', 'top_p'], kind: 'mutually-exclusive' },
];

const lat = (ttftMedianMs: number, ttftSigma: number, tokensPerSecond: number, tokensPerSecondSd: number) =>
  ({ ttftMedianMs, ttftSigma, tokensPerSecond, tokensPerSecondSd }) satisfies LatencyProfile;

/**
 * Built-in models. Context windows and output limits are the providers' published values (August
 * 2026); latency profiles are rough public medians, not measurements.
 */
export const BUILTIN_MODELS: ModelCatalogue = {
  'gpt-4o': {
    provider: 'openai',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    servedAs: 'gpt-4o-2024-08-06',
    latency: lat(450, 0.35, 80, 15),
    rateLimits: { requests: 10_000, tokens: 30_000_000 },
    created: 1715367049,
  },
  'gpt-4o-mini': {
    provider: 'openai',
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    servedAs: 'gpt-4o-mini-2024-07-18',
    latency: lat(350, 0.35, 95, 20),
    rateLimits: { requests: 30_000, tokens: 150_000_000 },
    created: 1721172741,
  },
  'gpt-4.1': {
    provider: 'openai',
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    servedAs: 'gpt-4.1-2025-04-14',
    latency: lat(500, 0.35, 75, 15),
    rateLimits: { requests: 10_000, tokens: 30_000_000 },
    created: 1744316542,
  },
  'gpt-4.1-mini': {
    provider: 'openai',
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    servedAs: 'gpt-4.1-mini-2025-04-14',
    latency: lat(400, 0.35, 90, 20),
    rateLimits: { requests: 30_000, tokens: 150_000_000 },
    created: 1744318173,
  },
  o3: {
    provider: 'openai',
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    servedAs: 'o3-2025-04-16',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(900, 0.4, 60, 15),
    rateLimits: { requests: 10_000, tokens: 30_000_000 },
    created: 1744225308,
  },
  'o4-mini': {
    provider: 'openai',
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    servedAs: 'o4-mini-2025-04-16',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(600, 0.4, 90, 20),
    rateLimits: { requests: 30_000, tokens: 150_000_000 },
    created: 1744225351,
  },
  'gpt-5': {
    provider: 'openai',
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    servedAs: 'gpt-5-2025-08-07',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(1200, 0.45, 55, 15),
    rateLimits: { requests: 15_000, tokens: 40_000_000 },
    created: 1754425777,
  },
  'gpt-5-mini': {
    provider: 'openai',
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    servedAs: 'gpt-5-mini-2025-08-07',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(800, 0.45, 80, 20),
    rateLimits: { requests: 30_000, tokens: 180_000_000 },
    created: 1754425867,
  },
  'gpt-5-nano': {
    provider: 'openai',
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    servedAs: 'gpt-5-nano-2025-08-07',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(600, 0.45, 120, 25),
    rateLimits: { requests: 30_000, tokens: 180_000_000 },
    created: 1754426384,
  },
  'gpt-5.1': {
    provider: 'openai',
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    servedAs: 'gpt-5.1-2025-11-13',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(1000, 0.45, 60, 15),
    rateLimits: { requests: 15_000, tokens: 40_000_000 },
    created: 1763035200,
  },
  'gpt-5.2': {
    provider: 'openai',
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    servedAs: 'gpt-5.2-2025-12-11',
    reasoning: true,
    rejectedParams: REASONING_RULES,
    latency: lat(1000, 0.45, 60, 15),
    rateLimits: { requests: 15_000, tokens: 40_000_000 },
    created: 1765411200,
  },
  'text-embedding-3-small': {
    provider: 'openai',
    contextWindow: 8_191,
    maxOutputTokens: 0,
    embedding: { dimensions: 1536, shortenable: true },
    latency: lat(120, 0.3, 0, 0),
    rateLimits: { requests: 10_000, tokens: 10_000_000 },
    created: 1705948997,
  },
  'text-embedding-3-large': {
    provider: 'openai',
    contextWindow: 8_191,
    maxOutputTokens: 0,
    embedding: { dimensions: 3072, shortenable: true },
    latency: lat(150, 0.3, 0, 0),
    rateLimits: { requests: 10_000, tokens: 10_000_000 },
    created: 1705953180,
  },
  'text-embedding-ada-002': {
    provider: 'openai',
    contextWindow: 8_191,
    maxOutputTokens: 0,
    embedding: { dimensions: 1536, shortenable: false },
    latency: lat(120, 0.3, 0, 0),
    rateLimits: { requests: 10_000, tokens: 10_000_000 },
    created: 1671217299,
  },
  // Newer Claude ids have no dated snapshot; windows assumed equal to the 4.5 generation, output
  // limits 128k as published (the AI SDK's default max_tokens for them).
  'claude-sonnet-4-6': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 128_000,
    rejectedParams: CLAUDE_4_RULES,
    latency: lat(850, 0.35, 70, 12),
    rateLimits: { requests: 4_000, tokens: 2_000_000 },
    displayName: 'Claude Sonnet 4.6',
  },
  'claude-opus-4-6': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 128_000,
    rejectedParams: CLAUDE_4_RULES,
    latency: lat(1400, 0.4, 45, 8),
    rateLimits: { requests: 4_000, tokens: 2_000_000 },
    displayName: 'Claude Opus 4.6',
  },
  'claude-sonnet-4-5': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    servedAs: 'claude-sonnet-4-5-20250929',
    rejectedParams: CLAUDE_4_RULES,
    latency: lat(900, 0.35, 65, 12),
    rateLimits: { requests: 4_000, tokens: 2_000_000 },
    displayName: 'Claude Sonnet 4.5',
  },
  'claude-haiku-4-5': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    servedAs: 'claude-haiku-4-5-20251001',
    rejectedParams: CLAUDE_4_RULES,
    latency: lat(500, 0.35, 120, 20),
    rateLimits: { requests: 4_000, tokens: 4_000_000 },
    displayName: 'Claude Haiku 4.5',
  },
  'claude-opus-4-1': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
    servedAs: 'claude-opus-4-1-20250805',
    rejectedParams: CLAUDE_4_RULES,
    latency: lat(1500, 0.4, 40, 8),
    rateLimits: { requests: 4_000, tokens: 2_000_000 },
    displayName: 'Claude Opus 4.1',
  },
  'claude-3-5-haiku-latest': {
    provider: 'anthropic',
    contextWindow: 200_000,
    maxOutputTokens: 8_192,
    servedAs: 'claude-3-5-haiku-20241022',
    latency: lat(600, 0.35, 90, 15),
    rateLimits: { requests: 4_000, tokens: 4_000_000 },
    displayName: 'Claude Haiku 3.5',
  },
  'llama3.2:latest': {
    provider: 'ollama',
    contextWindow: 4_096,
    maxOutputTokens: 131_072,
    latency: lat(150, 0.3, 45, 8),
    ollama: { family: 'llama', parameterSize: '3.2B', quantization: 'Q4_K_M', sizeBytes: 2_019_393_189 },
  },
  'qwen2.5:7b': {
    provider: 'ollama',
    contextWindow: 4_096,
    maxOutputTokens: 32_768,
    latency: lat(250, 0.3, 30, 6),
    ollama: { family: 'qwen2', parameterSize: '7.6B', quantization: 'Q4_K_M', sizeBytes: 4_683_087_332 },
  },
  'gpt-oss:20b': {
    provider: 'ollama',
    contextWindow: 4_096,
    maxOutputTokens: 131_072,
    latency: lat(400, 0.3, 25, 5),
    ollama: { family: 'gptoss', parameterSize: '20.9B', quantization: 'MXFP4', sizeBytes: 13_780_173_839 },
  },
};

/**
 * Context windows from core/data/prices.json (owned by the pricing work) when that file exists.
 * Accepts `{ models: { id: {...} } }`, `{ id: {...} }` or an array of `{ model | id, contextWindow }`.
 */
export function contextWindowsFromPrices(
  url: URL = new URL('../../../data/prices.json', import.meta.url),
): Record<string, number> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return {};
  }
  const out: Record<string, number> = {};
  const take = (id: unknown, entry: unknown) => {
    if (typeof id !== 'string' || entry === null || typeof entry !== 'object') return;
    const window = (entry as { contextWindow?: unknown }).contextWindow;
    if (typeof window === 'number' && window > 0) out[id] = window;
  };
  const visit = (node: unknown) => {
    if (Array.isArray(node)) {
      for (const entry of node) take((entry as { model?: unknown; id?: unknown })?.model ?? entry?.id, entry);
    } else if (node && typeof node === 'object') {
      for (const [id, entry] of Object.entries(node)) take(id, entry);
    }
  };
  const root = raw as { models?: unknown };
  visit(root && typeof root === 'object' && 'models' in root ? root.models : raw);
  return out;
}

/** Built-in models, with context windows overridden by prices.json where it lists the model. */
export function defaultCatalogue(): ModelCatalogue {
  const windows = contextWindowsFromPrices();
  const out: Record<string, ModelSpec> = {};
  for (const [id, spec] of Object.entries(BUILTIN_MODELS)) {
    // Ollama windows are the server's num_ctx default, not the model's published window.
    const window = spec.provider === 'ollama' ? undefined : windows[id];
    out[id] = window ? { ...spec, contextWindow: window } : spec;
  }
  return out;
}

/** Finds a model of `provider`; Ollama names without a tag mean `:latest`, like the real server. */
export function lookupModel(
  catalogue: ModelCatalogue,
  provider: Provider,
  name: string,
): { id: string; spec: ModelSpec } | undefined {
  const candidates = provider === 'ollama' && !name.includes(':') ? [name, `${name}:latest`] : [name];
  for (const id of candidates) {
    const spec = catalogue[id];
    if (spec && spec.provider === provider) return { id, spec };
  }
  // A dated snapshot name resolves to its alias entry.
  for (const [id, spec] of Object.entries(catalogue)) {
    if (spec.provider === provider && spec.servedAs === name) return { id, spec };
  }
  return undefined;
}
