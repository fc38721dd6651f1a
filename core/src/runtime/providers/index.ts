import type { DeploymentConfig } from '../config/schema.ts';
import type { AdapterOptions, ProviderAdapter } from './adapter.ts';
import { AnthropicAdapter } from './anthropic.ts';
import { OllamaAdapter } from './ollama.ts';
import { OpenAIAdapter } from './openai.ts';
import { OpenAIResponsesAdapter } from './openai-responses.ts';
import type { ProviderClientOptions } from './shared.ts';

export type { AdapterOptions, AttemptContext, ProviderAdapter } from './adapter.ts';
export { AnthropicAdapter, mapAnthropicStopReason } from './anthropic.ts';
export { createHookedFetch } from './http-hooks.ts';
export {
  classifyHttpResponse,
  type NormalizeContext,
  normalizeError,
  normalizePayloadError,
  redactSecrets,
} from './normalize-error.ts';
export { mapOllamaDoneReason, OllamaAdapter } from './ollama.ts';
export { isReasoningModel, mapOpenAIFinishReason, OpenAIAdapter } from './openai.ts';
export { OpenAIResponsesAdapter } from './openai-responses.ts';
export { parseRetryAfterMs } from './retry-after.ts';
export { sdkVersions } from './sdk-versions.ts';
export type { ProviderClientOptions } from './shared.ts';

/** One adapter per deployment; its SDK client is built here, once, with maxRetries 0. */
export function createAdapter(
  deployment: DeploymentConfig,
  options: AdapterOptions | ProviderClientOptions,
): ProviderAdapter {
  switch (deployment.provider) {
    case 'openai':
    case 'openai-compatible':
      return deployment.api === 'responses'
        ? new OpenAIResponsesAdapter(deployment, options)
        : new OpenAIAdapter(deployment, options);
    case 'anthropic':
      return new AnthropicAdapter(deployment, options);
    case 'ollama':
      return new OllamaAdapter(deployment, options);
  }
}
