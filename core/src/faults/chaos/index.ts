/** Fault catalogue, targeting/injection plans and the chaos handler (delivery-agnostic). */
export type {
  FaultAction,
  FaultContext,
  FaultDefinition,
  FaultId,
  FaultParams,
  ParamSpec,
  ParamValue,
  ResponseTransform,
  TransportFault,
} from './catalogue.ts';
export { FAULT_IDS, FAULTS, faultApplies, isFaultId, isTerminalFrame, resolveParams } from './catalogue.ts';
export type { ErrorAnswer, Finish, ProviderDialect, RateLimitSpec } from './dialect.ts';
export type { Chaos, ChaosOptions, InjectionEvent, Upstream } from './engine.ts';
export { createChaos, transportFaultOf } from './engine.ts';
export type { ChaosCounters, Decision, FaultPlan, FaultRule, FaultTarget, Injection } from './plan.ts';
export { createPlan, globMatch, rampRate, targetMatches, validateRules } from './plan.ts';
export type { Random } from './prng.ts';
export { deriveSeed as deriveChaosSeed, mulberry32, randomId } from './prng.ts';
export { rfc3339 } from './providers/anthropic.ts';
export { DIALECTS } from './providers/index.ts';
export { formatOpenAIDuration } from './providers/openai.ts';
export type { FaultEntry, FaultSpec } from './rule-format.ts';
export {
  durationSchema,
  faultListSchema,
  faultRuleId,
  faultSchema,
  faultTargetSchema,
  fromFaultRule,
  parseDuration,
  parseFaultList,
  toFaultRule,
} from './rule-format.ts';
export type { FrameOp, FrameTransform, Framing } from './streams.ts';
export { delayClose, sliceBytes, stallingBody, transformFrames, untilAborted } from './streams.ts';
export type { Provider, ProviderErrorSpec, RequestInfo } from './wire.ts';
export {
  inspectRequest,
  PROVIDERS,
  providerErrorResponse,
  providerOf,
} from './wire.ts';
