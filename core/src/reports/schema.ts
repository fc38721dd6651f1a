import { z } from 'zod';
import { ERROR_KINDS } from '../runtime/errors.ts';
import { JOURNAL_SCHEMA_VERSION, READABLE_JOURNAL_VERSIONS, type RunJournal } from '../scenarios/journal.ts';

/**
 * The run journal's shape, checked on read: a journal may be a file from an older run, a hand-edited
 * one or a file cut short by a crash, and every renderer trusts what it is given.
 */
const ms = z.number().finite();
const usd = z.number().finite();
const timeoutPhase = z.enum(['connect', 'headers', 'first_token', 'idle', 'total']);

const attemptSchema = z.object({
  n: z.number().int().optional(),
  deployment: z.string(),
  startMs: ms,
  endMs: ms,
  outcome: z.enum(['success', 'error', 'aborted']),
  errorKind: z.enum(ERROR_KINDS).optional(),
  status: z.number().int().optional(),
  delayBeforeNextMs: ms.optional(),
  delayReason: z.string().optional(),
  next: z.string().optional(),
  hedge: z.boolean().optional(),
  probe: z.boolean().optional(),
  costUsd: usd,
  fallbackReason: z
    .enum([
      'retry-after-over-cap',
      'retry-after-past-deadline',
      'attempts-exhausted',
      'retry-budget-denied',
      'not-retryable',
    ])
    .optional(),
  slow: z.boolean().optional(),
  costEstimated: z.boolean().optional(),
  timeoutPhase: timeoutPhase.optional(),
  retryAfterMs: ms.optional(),
  retryAfterSentMs: ms.optional(),
  deliveredChars: z.number().int().nonnegative().optional(),
  deliveredHash: z.string().optional(),
});

const requestSchema = z.object({
  id: z.string(),
  startMs: ms,
  endMs: ms,
  latencyMs: ms,
  ttftMs: ms.optional(),
  stream: z.boolean(),
  tenant: z.string().optional(),
  tags: z.array(z.string()),
  route: z.string(),
  outcome: z.enum(['success', 'error']),
  errorKind: z.enum(ERROR_KINDS).optional(),
  finalDeployment: z.string().optional(),
  fellBack: z.boolean(),
  cache: z.enum(['off', 'miss', 'hit', 'coalesced']),
  costUsd: usd,
  wastedUsd: usd,
  attempts: z.array(attemptSchema),
  skipped: z.array(z.object({ deployment: z.string(), reason: z.string() })),
  timeoutPhase: timeoutPhase.optional(),
  hung: z.literal(true).optional(),
  streamedChars: z.number().optional(),
  streamedHash: z.string().optional(),
  deliveredChars: z.number().int().nonnegative().optional(),
  deliveredHash: z.string().optional(),
  duplicatedText: z.boolean().optional(),
  budgetEvents: z
    .array(
      z.object({
        atMs: ms,
        op: z.enum(['reserve', 'settle', 'refuse']),
        tenant: z.string(),
        attempt: z.number().int(),
        amountUsd: usd,
        estimated: z.boolean().optional(),
      }),
    )
    .optional(),
});

const hypothesisSchema = z.object({
  id: z.string(),
  kind: z.string(),
  description: z.string(),
  line: z.number().int().optional(),
  phase: z.enum(['overall', 'before', 'during', 'after']),
  verdict: z.enum(['passed', 'failed', 'inconclusive']).optional(),
  allowInconclusive: z.literal(true).optional(),
  passed: z.boolean(),
  spec: z.record(z.string(), z.unknown()).optional(),
  evaluable: z.literal(false).optional(),
  expected: z.string(),
  actual: z.string(),
  examples: z.array(z.string()),
});

export const runJournalSchema = z.object({
  schemaVersion: z.union([z.literal(1), z.literal(JOURNAL_SCHEMA_VERSION)]),
  runId: z.string(),
  status: z.enum(['complete', 'incomplete']),
  wall: z.object({ startedAt: z.string(), finishedAt: z.string().optional(), durationMs: ms.optional() }),
  scenario: z.object({ name: z.string(), description: z.string(), file: z.string(), seed: z.number() }),
  versions: z.object({ switchyard: z.string(), node: z.string(), sdks: z.record(z.string(), z.string()) }),
  mode: z.enum(['virtual', 'real-time', 'against']),
  clockOriginMs: ms.optional(),
  requestsSent: z.number().int().nonnegative().optional(),
  streamShareOverride: z.number().min(0).max(1).optional(),
  config: z.unknown(),
  durationMs: ms,
  faultWindows: z.array(
    z.object({ ruleId: z.string(), fault: z.string(), target: z.string(), fromMs: ms, toMs: ms }),
  ),
  requests: z.array(requestSchema),
  faultCounters: z.object({
    requestsSeen: z.number(),
    injected: z.record(z.string(), z.number()),
    byTarget: z.record(z.string(), z.record(z.string(), z.number())),
  }),
  breakerTransitions: z.array(
    z.object({ deployment: z.string(), from: z.string(), to: z.string(), atMs: ms }),
  ),
  hypotheses: z.array(hypothesisSchema),
  verdict: z.enum(['passed', 'failed', 'incomplete']),
  against: z
    .object({
      gateway: z.string(),
      proxy: z.string(),
      model: z.string().optional(),
      upstreamCalls: z.number(),
      otherCalls: z.number(),
      attributed: z.object({ header: z.number(), prompt: z.number(), time: z.number() }),
      unattributed: z.number(),
      ambiguous: z.number(),
    })
    .optional(),
});

/** Raised for a journal that cannot be read: the message names the file and what is wrong with it. */
export class JournalError extends Error {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.name = 'JournalError';
    this.path = path;
  }
}

/** Validates parsed JSON as a run journal; `source` names it in errors (a path, usually). */
export function parseJournal(value: unknown, source: string): RunJournal {
  if (value && typeof value === 'object' && 'schemaVersion' in value) {
    const version = (value as { schemaVersion: unknown }).schemaVersion;
    if (typeof version !== 'number' || !READABLE_JOURNAL_VERSIONS.includes(version)) {
      throw new JournalError(
        source,
        `journal schema version ${JSON.stringify(version)} is not supported (this Switchyard reads versions ${READABLE_JOURNAL_VERSIONS.join(' and ')})`,
      );
    }
  }
  const result = runJournalSchema.safeParse(value);
  if (!result.success) {
    throw new JournalError(source, `not a valid run journal:\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  const journal: RunJournal = result.data;
  return journal;
}

/** Parses journal text; a file cut short (a crash mid-write) is named as such, not as a bare JSON error. */
export function parseJournalText(text: string, source: string): RunJournal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const hint =
      text.trim().length === 0
        ? 'the file is empty'
        : 'the file is not valid JSON — truncated or corrupted (was the run killed while it was written by a tool that does not write atomically?)';
    throw new JournalError(source, `cannot read run journal: ${hint} (${detail})`, { cause: error });
  }
  return parseJournal(value, source);
}
