/**
 * @switchyard/core — the public entry point. Everything outside this package imports from here.
 */

export { type Clock, nextTurn, RealClock, VirtualClock } from './runtime/clock.ts';
export { ConfigError, loadRouterConfig, parseRouterConfig } from './runtime/config/index.ts';
export {
  type DeploymentConfig,
  type RouteConfig,
  type RouterConfig,
  type RouterConfigInput,
  routerConfigSchema,
} from './runtime/config/schema.ts';
export { costUsd, estimateInputTokens, priceFor } from './runtime/cost/index.ts';
export {
  ERROR_KIND_DEFAULTS,
  ERROR_KINDS,
  type ErrorKind,
  isSwitchyardError,
  SwitchyardError,
  type TimeoutPhase,
} from './runtime/errors.ts';
export type { AdapterOptions, AttemptContext, ProviderAdapter } from './runtime/providers/adapter.ts';
export { createAdapter } from './runtime/providers/index.ts';
export { type CallOptions, Router, type RouterOptions } from './runtime/router.ts';
export {
  type BudgetPolicy,
  connectRedisStore,
  RedisStore,
  type RedisStoreEvent,
  type RedisStoreOptions,
} from './runtime/state/redis.ts';
export { type LocalRedis, startLocalRedis } from './runtime/state/redis-server.ts';
export {
  defineOp,
  MemoryStore,
  type StateKind,
  type StateOp,
  type StateStore,
} from './runtime/state.ts';
export type { AttemptRecord, CandidateRecord, DecisionTrace } from './runtime/trace/trace.ts';
export { formatPath } from './runtime/trace/trace.ts';
export type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EmbedResponse,
  EmbedResult,
  FinishReason,
  ProviderKind,
  ProviderResult,
  ProviderStreamEvent,
  Role,
  StreamEvent,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
} from './runtime/types.ts';
