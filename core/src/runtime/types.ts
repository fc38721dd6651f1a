/**
 * The unified request/response/stream vocabulary. Every provider adapter translates to and from
 * these shapes; nothing above the adapters ever sees an SDK type.
 */

/**
 * The providers, by the API they speak on the wire: the one name for this union (the simulator, the
 * fault catalogue, the proxy and the harness all use it).
 */
export const PROVIDERS = ['openai', 'anthropic', 'ollama'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A deployment's provider: one of the providers, or an OpenAI-compatible server (vLLM, Groq, a gateway…). */
export type ProviderKind = Provider | 'openai-compatible';

/** The wire format a deployment's provider speaks: an OpenAI-compatible server speaks OpenAI's. */
export function wireProviderOf(kind: ProviderKind): Provider {
  return kind === 'openai-compatible' ? 'openai' : kind;
}

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, exactly as the model produced it. */
  arguments: string;
}

export interface ChatMessage {
  role: Role;
  content: string;
  /** For role 'tool': the id of the call this message answers. */
  toolCallId?: string;
  /** For role 'assistant': calls the model asked for. */
  toolCalls?: ToolCall[];
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ChatRequest {
  messages: ChatMessage[];
  /** A route name from the config (or a deployment id); the router resolves it. */
  model?: string;
  temperature?: number;
  maxOutputTokens?: number;
  stop?: string[];
  /** 'json' asks the provider for a JSON object (OpenAI json_object, Ollama format: json, Anthropic by instruction). */
  responseFormat?: 'text' | 'json';
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** Free-form labels carried into the trace and spans; routing rules may match on them. */
  metadata?: Record<string, string>;
  tags?: string[];
  /** Who pays: budgets are kept per tenant. */
  tenant?: string;
  /** Routing hints matched by route rules. */
  task?: string;
  tier?: string;
  /** Bypass the response cache for this request. */
  noCache?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'refusal' | 'other';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (billed at the cached-input price). */
  cachedInputTokens: number;
}

/** What an adapter returns for one successful call, before the router adds cost and timing. */
export interface ProviderResult {
  id: string;
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  /** The model name the provider reports (may differ from the requested alias). */
  model: string;
}

export interface ChatResponse extends ProviderResult {
  provider: ProviderKind;
  deployment: string;
  costUsd: number;
  latencyMs: number;
  /** Time to first token; for non-streamed calls, equal to latency. */
  ttftMs: number;
  cached: boolean;
  /** The id of this request's decision trace. */
  traceId: string;
}

/** Events an adapter yields while streaming. */
export type ProviderStreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call'; call: ToolCall }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; finishReason: FinishReason; id?: string; model?: string };

/** Events the router yields to its caller while streaming. */
export type StreamEvent =
  | ProviderStreamEvent
  | { type: 'attempt'; deployment: string; attempt: number }
  | { type: 'error'; error: import('./errors.ts').SwitchyardError; partialText: string }
  | { type: 'done'; response: ChatResponse };

/** An embeddings request: one text or many, through a route like a chat request. */
export interface EmbedRequest {
  /** A route name from the config (or a deployment id); the router resolves it. */
  model?: string;
  input: string | string[];
  /** Shorter vectors, where the model supports it (OpenAI text-embedding-3-*). */
  dimensions?: number;
  metadata?: Record<string, string>;
  tags?: string[];
  tenant?: string;
  task?: string;
  tier?: string;
}

/** What an adapter returns for one successful embeddings call. */
export interface EmbedResult {
  /** One vector per input, in input order. */
  embeddings: number[][];
  usage: Usage;
  model: string;
}

export interface EmbedResponse extends EmbedResult {
  provider: ProviderKind;
  deployment: string;
  costUsd: number;
  latencyMs: number;
  /** The id of this request's decision trace. */
  traceId: string;
}
