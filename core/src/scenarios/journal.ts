import type { ErrorKind, TimeoutPhase } from '../runtime/errors.ts';
import type { BudgetEvent, FallbackReason } from '../runtime/trace/trace.ts';

/**
 * The run journal: everything one scenario run produced, as plain JSON. The runner writes it;
 * every report format (JUnit, Markdown, HTML) is rendered from it alone, so `switchyard report`
 * can re-render any past run. Times are milliseconds on the run's clock, relative to its start.
 *
 * It also carries the evidence to re-check every hypothesis from raw records alone (see
 * tools/recheck-journal.mjs): what each attempt was asked to wait (Retry-After) and why it was left,
 * the deadline phase that fired, the text each stream delivered (length and hash, as the caller got
 * it and as the router says each attempt delivered it), budget events, how many requests were sent
 * and the clock origin. Version 2 added these and the per-hypothesis verdict.
 */
export const JOURNAL_SCHEMA_VERSION = 2;
/** Journal versions this Switchyard reads (version 2 only added fields). */
export const READABLE_JOURNAL_VERSIONS: readonly number[] = [1, 2];

export interface RunJournal {
  schemaVersion: 1 | typeof JOURNAL_SCHEMA_VERSION;
  runId: string;
  /** 'incomplete' when the run was interrupted: the journal holds what happened up to then. */
  status: 'complete' | 'incomplete';
  /** Wall-clock timestamps (ISO 8601); excluded when comparing two runs for determinism. */
  wall: { startedAt: string; finishedAt?: string; durationMs?: number };
  scenario: { name: string; description: string; file: string; seed: number };
  versions: { switchyard: string; node: string; sdks: Record<string, string> };
  mode: 'virtual' | 'real-time' | 'against';
  /** Absolute time on the run's clock (ms since the Unix epoch) of its start: budget periods are UTC minutes/hours/days of it. */
  clockOriginMs?: number;
  /** Requests the load sent; more than `requests` holds records for only if the run was cut short. */
  requestsSent?: number;
  /** `run --stream-share X`: the share of streamed requests was forced to X for every request. */
  streamShareOverride?: number;
  /** The router config the run used (keys are never in it: configs name env vars). */
  config: unknown;
  /** Simulated time the run covered. */
  durationMs: number;
  faultWindows: FaultWindow[];
  requests: RequestRecord[];
  /** Injected faults by fault id and by target, plus requests the chaos layer saw. */
  faultCounters: FaultCounters;
  breakerTransitions: Array<{ deployment: string; from: string; to: string; atMs: number }>;
  hypotheses: HypothesisResult[];
  /** 'failed' when a hypothesis failed, or was inconclusive without the scenario allowing it. */
  verdict: 'passed' | 'failed' | 'incomplete';
  /** Mode 'against' only: the gateway graded and how its upstream calls were tied to requests. */
  against?: AgainstSummary;
}

/**
 * A `--against` run: the gateway's traffic is seen from outside. Upstream calls are tied to requests
 * by the x-switchyard-request-id header (if the gateway forwards it), else by the prompt, else by time.
 */
export interface AgainstSummary {
  /** The gateway's base URL the load went to. */
  gateway: string;
  /** The chaos proxy the gateway's upstreams pointed at. */
  proxy: string;
  /** The model name asked of the gateway, when one was forced (else each request's route name). */
  model?: string;
  /** Generation calls (chat, messages, generate) the proxy received during the run. */
  upstreamCalls: number;
  /** Other calls (model lists, health checks), not counted as attempts. */
  otherCalls: number;
  attributed: { header: number; prompt: number; time: number };
  /** Calls tied to no request; hypotheses read off the calls are then not evaluable. */
  unattributed: number;
  /** Of those, calls whose prompt matched more than one request in flight. */
  ambiguous: number;
}

export interface FaultWindow {
  ruleId: string;
  fault: string;
  target: string;
  fromMs: number;
  toMs: number;
}

export interface FaultCounters {
  requestsSeen: number;
  injected: Record<string, number>;
  byTarget: Record<string, Record<string, number>>;
}

export interface AttemptSummary {
  /** 1-based number of the attempt in its request (budget events name it). */
  n?: number;
  deployment: string;
  startMs: number;
  endMs: number;
  outcome: 'success' | 'error' | 'aborted';
  errorKind?: ErrorKind;
  status?: number;
  delayBeforeNextMs?: number;
  delayReason?: string;
  next?: string;
  /** Why the router left this deployment after the attempt (next 'fallback' or 'give-up'). */
  fallbackReason?: FallbackReason;
  hedge?: boolean;
  probe?: boolean;
  /** A hedge loser counted against its deployment as a slow call. */
  slow?: boolean;
  costUsd: number;
  /** The cost was estimated (usage missing or invalid, or a stream cut part-way). */
  costEstimated?: boolean;
  /** The deadline that ended this attempt. */
  timeoutPhase?: TimeoutPhase;
  /** The wait the router read from the provider's answer (Retry-After, retry-after-ms), per its trace. */
  retryAfterMs?: number;
  /**
   * The wait the provider's answer asked for, as the harness sent it (its own record of the injected
   * response, read on the run's clock): what a retry must respect, whatever the router understood.
   */
  retryAfterSentMs?: number;
  /** Streams: characters of text this attempt delivered to the caller, and their SHA-256 (hex, first 16), per the router. */
  deliveredChars?: number;
  deliveredHash?: string;
}

export interface RequestRecord {
  id: string;
  startMs: number;
  endMs: number;
  latencyMs: number;
  ttftMs?: number;
  stream: boolean;
  tenant?: string;
  tags: string[];
  route: string;
  outcome: 'success' | 'error';
  errorKind?: ErrorKind;
  finalDeployment?: string;
  /** True when the answer came from another deployment than the first one tried. */
  fellBack: boolean;
  cache: 'off' | 'miss' | 'hit' | 'coalesced';
  costUsd: number;
  wastedUsd: number;
  attempts: AttemptSummary[];
  skipped: Array<{ deployment: string; reason: string }>;
  /** The deadline phase that ended the request, when a deadline did ('total': its whole-request deadline). */
  timeoutPhase?: TimeoutPhase;
  /** Sent but never ended (the run drained without it): counted as a failure, with no attempts known. */
  hung?: true;
  /** Streams: the text the caller received, as the harness saw it: characters and SHA-256 (hex, first 16). */
  streamedChars?: number;
  streamedHash?: string;
  /** Streams: the text the router says it delivered in all (its trace). */
  deliveredChars?: number;
  deliveredHash?: string;
  /** --against only: text beyond the longest single upstream answer reached the caller (seen from the provider side). */
  duplicatedText?: boolean;
  /** Budget reservations and settlements of this request (times relative to the run's start). */
  budgetEvents?: Array<Omit<BudgetEvent, 'at'> & { atMs: number }>;
}

export type HypothesisVerdict = 'passed' | 'failed' | 'inconclusive';

/** A hypothesis result's verdict (journals before version 2 knew only passed and failed). */
export function hypothesisVerdict(h: Pick<HypothesisResult, 'verdict' | 'passed'>): HypothesisVerdict {
  return h.verdict ?? (h.passed ? 'passed' : 'failed');
}

export interface HypothesisResult {
  id: string;
  /** The hypothesis type, e.g. 'success_rate', 'latency', 'retry_after_respected'. */
  kind: string;
  description: string;
  /** Where it is written in the scenario file (for editors and the Testing view). */
  line?: number;
  phase: 'overall' | 'before' | 'during' | 'after';
  /**
   * What the run showed: 'inconclusive' when it held no evidence either way (no retry after a
   * Retry-After, no breaker opened, no stream failed mid-way, a field the router did not record…).
   * Absent in journals written before version 2: read it with hypothesisVerdict().
   */
  verdict?: HypothesisVerdict;
  /** The scenario allows this hypothesis to be inconclusive (`allowInconclusive: true`). */
  allowInconclusive?: true;
  /** Whether it lets the run pass: verdict 'passed', or 'inconclusive' where allowed. */
  passed: boolean;
  /** The hypothesis as the scenario states it, defaults filled and durations in ms: what a re-check reads. */
  spec?: Record<string, unknown>;
  /**
   * false when the run could not observe what the hypothesis is about (an --against run cannot see
   * the gateway's breakers, for one). Such a hypothesis never passes: `passed` is false too, and
   * `actual` starts with 'not observable in --against mode'.
   */
  evaluable?: false;
  expected: string;
  actual: string;
  /** Ids of requests that show the failure. */
  examples: string[];
}
