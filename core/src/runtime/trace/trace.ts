import type { ErrorKind, TimeoutPhase } from '../errors.ts';
import type { Usage } from '../types.ts';

/**
 * The decision trace: for every request, what the router considered, what it tried, what it
 * waited for and why, and how it ended. Times are on the router's clock (virtual in scenario runs).
 * It holds no request content and no keys, so it can go into logs, spans and reports as it is.
 */

export type SkipReason = 'breaker-open' | 'cooldown' | 'context-window' | 'budget';

/**
 * Why the router left a deployment after an attempt (attempt.next 'fallback' or 'give-up'): the
 * evidence a hypothesis or an outside script needs to re-check a fallback from the journal alone.
 * Skips before an attempt (breaker open, cooldown, budget) are CandidateRecord.skipped.
 */
export type FallbackReason =
  | 'retry-after-over-cap'
  | 'retry-after-past-deadline'
  /** A backoff sleep would not have ended before the request's total deadline. */
  | 'backoff-past-deadline'
  | 'attempts-exhausted'
  | 'retry-budget-denied'
  | 'not-retryable';

/** One budget ledger operation of a request, in the order they happened. */
export interface BudgetEvent {
  at: number;
  op: 'reserve' | 'settle' | 'refuse';
  tenant: string;
  /** The attempt (AttemptRecord.n) the money is for. */
  attempt: number;
  /** reserve: the worst-case estimate held; settle: the actual cost charged; refuse: the estimate refused. */
  amountUsd: number;
  /** settle: the cost was estimated (usage missing or invalid, or a stream cut part-way). */
  estimated?: boolean;
}

export interface CandidateRecord {
  deployment: string;
  /** Where it came from: the route's own list, its fallbacks, or a special chain. */
  source: 'route' | 'fallback' | 'context-overflow' | 'content-filtered';
  skipped?: SkipReason;
  detail?: string;
  /** skipped 'cooldown' or 'breaker-open': clock time until which the deployment is out of rotation. */
  until?: number;
}

export interface AttemptRecord {
  /** 1-based, across the whole request. */
  n: number;
  deployment: string;
  provider: string;
  model: string;
  startedAt: number;
  endedAt: number;
  outcome: 'success' | 'error' | 'aborted';
  errorKind?: ErrorKind;
  error?: Record<string, unknown>;
  status?: number;
  /** Milliseconds the router waited after this attempt before the next one, and why. */
  delayBeforeNextMs?: number;
  delayReason?: 'retry-after' | 'backoff' | 'none';
  /** What the router decided after this attempt. */
  next?: 'done' | 'retry' | 'rewrite-and-retry' | 'fallback' | 'give-up';
  /** With next 'fallback' (or 'give-up' when no fallback was left): why this deployment was left. */
  fallbackReason?: FallbackReason;
  /** The wait the provider asked for on this attempt (Retry-After, retry-after-ms), in ms on the router's clock. */
  retryAfterMs?: number;
  /** The deadline that ended this attempt, when one did. */
  timeoutPhase?: TimeoutPhase;
  /** A hedge loser that had outlived the deployment's expected latency: counted against it as a slow call. */
  slow?: boolean;
  /**
   * Streams: characters (String.length) of text this attempt delivered to the caller, and the SHA-256
   * of that text's UTF-8 (hex, first 16). 0 and the hash of '' for an attempt that delivered nothing.
   */
  deliveredChars?: number;
  deliveredHash?: string;
  /** The cost was estimated from counted tokens (usage missing, invalid, or the stream was cut). */
  costEstimated?: boolean;
  hedge?: boolean;
  probe?: boolean;
  rewrittenParams?: string[];
  ttftMs?: number;
  usage?: Usage;
  costUsd: number;
}

export interface DecisionTrace {
  id: string;
  route: string;
  stream: boolean;
  tenant?: string;
  tags: string[];
  task?: string;
  tier?: string;
  startedAt: number;
  endedAt?: number;
  estimatedInputTokens: number;
  cache: 'off' | 'miss' | 'hit' | 'coalesced';
  candidates: CandidateRecord[];
  attempts: AttemptRecord[];
  hedges: Array<{ at: number; deployment: string; won: boolean }>;
  /** Retries refused by the retry budget. */
  retryBudgetDenied: number;
  outcome?: 'success' | 'error';
  finalDeployment?: string;
  error?: Record<string, unknown>;
  /** Total cost of every attempt, winners and losers. */
  costUsd: number;
  /** Cost of work that produced nothing used: hedge losers, partial streams that failed. */
  wastedUsd: number;
  /** Text already streamed when a stream failed after its first token. */
  partialTextChars?: number;
  /** Streams: the text the caller received in all (characters, and SHA-256 hex, first 16). */
  deliveredChars?: number;
  deliveredHash?: string;
  /** Budget reservations and settlements of this request (only when budgets apply). */
  budgetEvents?: BudgetEvent[];
}

/** A human-readable one-line path: `openai-main ✗ rate_limited (waited 1200 ms) → anthropic ✓ 812 ms $0.0012`. */
export function formatPath(trace: DecisionTrace): string {
  const parts = trace.attempts.map((a) => {
    const took = `${Math.round(a.endedAt - a.startedAt)} ms`;
    const head = `${a.deployment}${a.hedge ? ' (hedge)' : ''}`;
    if (a.outcome === 'success') return `${head} ✓ ${took} $${a.costUsd.toFixed(6)}`;
    const why = a.outcome === 'aborted' ? 'aborted' : `${a.errorKind}${a.status ? ` ${a.status}` : ''}`;
    const wait =
      a.delayBeforeNextMs !== undefined ? `, waited ${a.delayBeforeNextMs} ms (${a.delayReason})` : '';
    return `${head} ✗ ${why}${wait}`;
  });
  if (trace.cache === 'hit') parts.unshift('cache hit');
  return parts.join(' → ') || '(no attempt)';
}
