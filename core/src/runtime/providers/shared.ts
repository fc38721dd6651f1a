import type { DeploymentConfig } from '../config/schema.ts';
import type { ChatRequest } from '../types.ts';
import type { AdapterOptions } from './adapter.ts';

/**
 * The router owns deadlines (headers, first token, idle, attempt) and aborts through the attempt signal, so
 * the SDK's own timeout is only a backstop against a router bug: 10 minutes, the SDKs' default.
 */
export const SDK_TIMEOUT_MS = 600_000;

// The adapters pass no `signal` to the SDK calls: the hooked fetch (http-hooks.ts) already ties every request
// to the attempt signal, and Attempt races each call and chunk against it. Passing it as well made the openai
// and anthropic SDKs build an AbortSignal.any per request, and our link then had to follow that composite
// signal: ~20 µs of CPU and GC per attempt (measured with a --cpu-prof of bench/benches/overhead.ts).

/**
 * The key sent for a deployment that has none (a local Ollama or OpenAI-compatible server, or a
 * config that names no key): obvious in a provider's 401, and never a real credential. Without an
 * explicit key the official SDKs read OPENAI_API_KEY / ANTHROPIC_API_KEY themselves and send the
 * user's default key to whatever baseURL the deployment has.
 */
export const NO_KEY_PLACEHOLDER = 'switchyard-no-key-configured';

/**
 * The providers' own origins, passed explicitly for the same reason: left undefined, the SDKs read
 * OPENAI_BASE_URL / ANTHROPIC_BASE_URL and the key would go wherever the environment points.
 */
export const DEFAULT_BASE_URLS = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
} as const;

/** AdapterOptions plus knobs that only tests and the simulator need. */
export interface ProviderClientOptions extends AdapterOptions {
  /** Overrides SDK_TIMEOUT_MS (lets a test provoke the SDK's own headers timeout). */
  sdkTimeoutMs?: number;
}

/** The request's limit, capped by the deployment's; undefined when neither sets one. */
export function effectiveMaxTokens(
  request: Pick<ChatRequest, 'maxOutputTokens'>,
  deployment: Pick<DeploymentConfig, 'maxOutputTokens'>,
): number | undefined {
  const fromRequest = request.maxOutputTokens;
  const cap = deployment.maxOutputTokens;
  if (fromRequest === undefined) return cap;
  return cap === undefined ? fromRequest : Math.min(fromRequest, cap);
}
