export type { Call, RateLimitState } from './call.ts';
export type { Generation, GenerationInput, JsonSchema } from './content.ts';
export { contentText, countTokens, estimateInputTokens, generate, valueFromSchema } from './content.ts';
export type { LatencyProfile, LatencySample } from './latency.ts';
export { sampleLatency, tokenTimeMs, ZERO_LATENCY } from './latency.ts';
export type { ModelCatalogue, ModelSpec, OllamaDetails, ParamRule } from './models.ts';
export { BUILTIN_MODELS, contextWindowsFromPrices, defaultCatalogue, lookupModel } from './models.ts';
export { OLLAMA_VERSION } from './ollama.ts';
export { errorOf, isRecord, readAnswer, requestText, type WireAnswer, type WireError } from './read.ts';
export type { Simulator, SimulatorOptions } from './simulator.ts';
export { createSimulator, providerOf, providerOfPath, SIMULATED_API_KEY } from './simulator.ts';
export type { ErrorSpec } from './wire.ts';
export {
  anthropicRequestId,
  encodeNdjson,
  encodeSse,
  errorBody,
  errorResponse,
  frameStream,
  JSON_CONTENT_TYPE,
  NDJSON_CONTENT_TYPE,
  OLLAMA_JSON_CONTENT_TYPE,
  openaiRequestId,
  SSE_CONTENT_TYPE,
  SSE_DONE,
} from './wire.ts';
