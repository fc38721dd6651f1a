/** Scenario files, their loader, the harness, its targets and the hypotheses: the public entry of the scenarios room. */

export { faultRuleId, toFaultRule } from '../faults/chaos/rule-format.ts';
export type { RunProgress } from './harness/driver.ts';
export { toFaultWindows } from './harness/faults.ts';
export { type JournalStart, startJournalHeader } from './harness/journal.ts';
export {
  CHECKS,
  chainOf,
  evaluateHypotheses,
  inPhase,
  type JournalParts,
  type Need,
  NOT_OBSERVABLE_PREFIX,
  pathOf,
  percentile,
  retryAfterOf,
  runVerdict,
  type Unseen,
} from './hypotheses/index.ts';
export * from './journal.ts';
export {
  defineScenario,
  loadScenario,
  type ParsedScenarioSpec,
  type ParseScenarioOptions,
  parsePromptFile,
  parseScenario,
  parseScenarioSpec,
  ScenarioError,
} from './load.ts';
export { createRequestFactory, type GeneratedRequest, streamShareOf } from './load-gen.ts';
export {
  type AgainstOptions,
  type RunOptions,
  runAgainst,
  runScenario,
  VIRTUAL_EPOCH_MS,
} from './run.ts';
export * from './schema.ts';
export { type AgainstProxy, startAgainstProxy } from './targets/gateway/proxy.ts';
export { AgainstSetupError } from './targets/gateway/target.ts';
export { REQUEST_ID_HEADER } from './targets/gateway/upstream-log.ts';
export { textHash, toRecord } from './targets/router.ts';
