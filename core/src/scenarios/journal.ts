import type { ErrorKind } from '../runtime/errors.ts';

/**
 * The run journal: everything one scenario run produced, as plain JSON. The runner writes it;
 * every report format (JUnit, Markdown, HTML) is rendered from it alone, so `switchyard report`
 * can re-render any past run. Times are milliseconds on the run's clock, relative to its start.
 */
export const JOURNAL_SCHEMA_VERSION = 1;

export interface RunJournal {
  schemaVersion: typeof JOURNAL_SCHEMA_VERSION;
  runId: string;
  /** 'incomplete' when the run was interrupted: the journal holds what happened up to then. */
  status: 'complete' | 'incomplete';
  /** Wall-clock timestamps (ISO 8601); excluded when comparing two runs for determinism. */
  wall: { startedAt: string; finishedAt?: string; durationMs?: number };
  scenario: { name: string; description: string; file: string; seed: number };
  versions: { switchyard: string; node: string; sdks: Record<string, string> };
  mode: 'virtual' | 'real-time' | 'against';
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
  deployment: string;
  startMs: number;
  endMs: number;
  outcome: 'success' | 'error' | 'aborted';
  errorKind?: ErrorKind;
  status?: number;
  delayBeforeNextMs?: number;
  delayReason?: string;
  next?: string;
  hedge?: boolean;
  probe?: boolean;
  costUsd: number;
  /** Earliest time a Retry-After on the previous attempt allowed this one (for the hypothesis). */
  retryAfterNotBeforeMs?: number;
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
  /** Streams: text the caller received, and whether any of it was delivered twice. */
  streamedChars?: number;
  duplicatedText?: boolean;
}

export interface HypothesisResult {
  id: string;
  /** The hypothesis type, e.g. 'success_rate', 'latency', 'retry_after_respected'. */
  kind: string;
  description: string;
  /** Where it is written in the scenario file (for editors and the Testing view). */
  line?: number;
  phase: 'overall' | 'before' | 'during' | 'after';
  passed: boolean;
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
