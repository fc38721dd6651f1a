/** Scenario files, their loader, the runner and the hypotheses: the public entry of the scenarios room. */
export {
  type AgainstOptions,
  type AgainstProxy,
  AgainstSetupError,
  evaluateAgainst,
  NOT_OBSERVABLE_PREFIX,
  REQUEST_ID_HEADER,
  runAgainst,
  startAgainstProxy,
} from './against.ts';
export {
  chainOf,
  evaluateHypotheses,
  inPhase,
  type JournalParts,
  pathOf,
  percentile,
  retryAfterOf,
  runVerdict,
} from './hypotheses.ts';
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
  type RunOptions,
  type RunProgress,
  runScenario,
  textHash,
  toFaultRule,
  toFaultWindows,
  toRecord,
  VIRTUAL_EPOCH_MS,
} from './runner.ts';
export * from './schema.ts';
