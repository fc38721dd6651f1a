/**
 * What a check is, and the outcomes it builds. A check reads a run's journal parts for one hypothesis
 * type and declares what it needs to see: the requests as the caller saw them, the upstream calls
 * each request made, or the router's internals (breakers, budgets, spend, deadlines, its chain).
 */
import type { RouterConfig } from '../../runtime/config/schema.ts';
import type { FaultWindow, HypothesisVerdict, RequestRecord, RunJournal } from '../journal.ts';
import type { Hypothesis } from '../schema.ts';

/** What the hypotheses are checked against: the journal's data (hypotheses are computed from it). */
export interface JournalParts {
  requests: RequestRecord[];
  faultWindows: FaultWindow[];
  breakerTransitions: RunJournal['breakerTransitions'];
  durationMs: number;
  /** The router config the run used (budgets, breaker count kinds, route chains). */
  config: RouterConfig;
  /** Absolute clock time of the run's start, for budget periods (UTC minute/hour/day/month). */
  clockOriginMs?: number;
  /** Requests the load sent (a hung request is one sent that never ended). */
  requestsSent?: number;
}

/**
 * What a check reads: `requests`, each request as the caller saw it (outcome, latency, text);
 * `upstream-calls`, the calls each request made to the providers (attempts, their answers and
 * timing); `internals`, the router's own state (breakers, budgets, spend, deadlines, chains).
 */
export type Need = 'requests' | 'upstream-calls' | 'internals';

/** What of the router an `internals` check reads, said where a target cannot show it. */
export const INTERNALS = {
  breakers: 'its circuit breakers: the provider side shows calls, not breaker states',
  spend: 'its spend: upstream token usage is not priced outside the router',
  budgets: 'its budgets and spend ledger',
  deadlines: 'its deadlines: a timeout seen from outside does not say which deadline fired',
  chain: "its fallback chain: its own configuration, not the scenario's",
} as const;

export interface Check<T extends Hypothesis['type'] = Hypothesis['type']> {
  type: T;
  needs: Need;
  /** For `internals`: what of the router it reads, said where a target cannot show it. */
  reads?: string;
  /** `selected`: the requests of the hypothesis's phase that match its filter. */
  evaluate(h: Extract<Hypothesis, { type: T }>, selected: RequestRecord[], parts: JournalParts): Outcome;
}

export interface Outcome {
  summary: string;
  verdict: HypothesisVerdict;
  /** Inconclusive because the hypothesis selected no request at all. */
  noTraffic?: true;
  expected: string;
  actual: string;
  examples: string[];
}

export const MAX_EXAMPLES = 5;

/** A hypothesis the run held no evidence for: neither proven nor refuted. */
export const inconclusive = (summary: string, expected: string, why: string): Outcome => ({
  summary,
  verdict: 'inconclusive',
  expected,
  actual: `inconclusive: ${why}`,
  examples: [],
});

export const judged = (ok: boolean): HypothesisVerdict => (ok ? 'passed' : 'failed');

const NO_TRAFFIC = 'no matching requests (the scenario selects no traffic here)';
export const empty = (summary: string, expected: string): Outcome =>
  inconclusive(summary, expected, NO_TRAFFIC);

/** Passed when nothing went wrong; else the problems are what was seen. */
export const byProblems = (
  summary: string,
  expected: string,
  problems: string[],
  held: string,
  examples: string[] = [],
): Outcome => ({
  summary,
  verdict: judged(problems.length === 0),
  expected,
  actual: problems.length === 0 ? held : problems.join('; '),
  examples,
});

/** Passed when no request shows the failure; `held` or `broken` says what was seen either way. */
export const byExamples = (
  summary: string,
  expected: string,
  bad: string[],
  held: string,
  broken: string,
): Outcome => ({
  summary,
  verdict: judged(bad.length === 0),
  expected,
  actual: bad.length === 0 ? held : broken,
  examples: bad,
});

/** A check: what it is for and needs, and how it judges (`h` typed as its own hypothesis type). */
export function defineCheck<T extends Hypothesis['type']>(
  info: Omit<Check<T>, 'evaluate'>,
  evaluate: Check<T>['evaluate'],
): Check<T> {
  return { ...info, evaluate };
}
