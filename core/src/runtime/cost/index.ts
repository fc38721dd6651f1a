export { DEFAULT_OUTPUT_ALLOWANCE, OutputAllowance } from './allowance.ts';
export {
  BudgetLedger,
  type BudgetLedgerOptions,
  type BudgetPeriod,
  type BudgetSnapshot,
  DEFAULT_TENANT,
  periodKey,
  type Reservation,
  type ReserveResult,
} from './budget.ts';
export {
  costUsd,
  knownModels,
  type ModelInfo,
  modelInfo,
  PRICE_TABLE_AS_OF,
  PRICE_TABLE_SOURCE,
  type Price,
  priceFor,
} from './prices.ts';
export { type CostEstimateOptions, estimateInputTokens, estimateRequestCostUsd } from './tokens.ts';
export { estimatedUsage, type UsageContext, usageProblem } from './usage.ts';
