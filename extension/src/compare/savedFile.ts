/**
 * A comparison saved as a file in the workspace (`*.comparison.json`) and opened again later: the
 * prompt, every column with its own parameters, answers, metrics and decision traces, the fallback
 * toggle, the chaos profile and the label. Reading one validates it whole; a problem is reported as
 * `file:line:column field: message`, located with jsonc-parser and described with zod. No vscode.
 */
import { findNodeAtLocation, type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { z } from 'zod';
import {
  type ColumnState,
  columnParamsProblem,
  isChaosProfile,
  PROVIDER_NAMES,
  type RunState,
} from '../shared/protocol.ts';

export const SAVED_COMPARISON_SUFFIX = '.comparison.json';
export const SAVED_COMPARISON_KIND = 'switchyard-comparison';
export const SAVED_COMPARISON_VERSION = 1;

export interface SavedIssue {
  file: string;
  /** 1-based, as editors and `file:line:column` print them. */
  line: number;
  column: number;
  field: string;
  message: string;
}

export class SavedComparisonError extends Error {
  readonly issues: SavedIssue[];
  constructor(issues: SavedIssue[]) {
    super(
      issues
        .map((i) => `${i.file}:${i.line}:${i.column} ${i.field ? `${i.field}: ` : ''}${i.message}`)
        .join('\n'),
    );
    this.name = 'SavedComparisonError';
    this.issues = issues;
  }
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const optionalNumber = finite.optional();

const attemptSchema = z.object({
  n: finite,
  deployment: z.string(),
  outcome: z.enum(['success', 'error', 'aborted']),
  status: optionalNumber,
  errorKind: z.string().optional(),
  ms: finite,
  waitedMs: optionalNumber,
  delayReason: z.string().optional(),
  next: z.string().optional(),
  hedge: z.boolean().optional(),
  costUsd: finite,
});

const columnSchema = z.object({
  spec: z.object({
    id: z.string().min(1),
    provider: z.enum(PROVIDER_NAMES),
    model: z.string().min(1),
    simulated: z.boolean(),
    params: z
      .unknown()
      .optional()
      .superRefine((value, ctx) => {
        const problem = value === undefined ? undefined : columnParamsProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  }),
  status: z.enum(['pending', 'streaming', 'done', 'failed', 'cancelled']),
  text: z.string(),
  servedBy: z.string().optional(),
  servedSimulated: z.boolean().optional(),
  latencyMs: optionalNumber,
  ttftMs: optionalNumber,
  inputTokens: optionalNumber,
  outputTokens: optionalNumber,
  costUsd: optionalNumber,
  finishReason: z.string().optional(),
  error: z
    .object({ deployment: z.string(), kind: z.string(), status: optionalNumber, message: z.string() })
    .optional(),
  attempts: z.array(attemptSchema),
  trace: z.unknown().optional(),
});

const runSchema = z.object({
  runId: z.string().min(1),
  startedAt: finite,
  finishedAt: optionalNumber,
  label: z.string().max(200).optional(),
  prompt: z.object({
    title: z.string(),
    text: z.string().min(1, 'the prompt is empty'),
    system: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    source: z.object({ uri: z.string(), promptIndex: finite, line: finite }).optional(),
  }),
  chaos: z
    .unknown()
    .optional()
    .refine((value) => value === undefined || isChaosProfile(value), {
      message: 'expected { fault, provider: all|openai|anthropic|ollama, rate: 0..1 }',
    }),
  fallback: z.boolean(),
  columns: z.array(columnSchema).min(1, 'a comparison has at least one column'),
  finished: z.boolean(),
});

const fileSchema = z.object({
  kind: z.literal(SAVED_COMPARISON_KIND, `expected "${SAVED_COMPARISON_KIND}"`),
  version: z.literal(SAVED_COMPARISON_VERSION, `this extension reads version ${SAVED_COMPARISON_VERSION}`),
  savedAt: z.string(),
  run: runSchema,
});

/**
 * A run kept in the workspace state by this or an earlier version (version 1 kept errors as text and
 * always fell back), checked like a saved file; undefined when it is not a run at all.
 */
export function upgradeStoredRun(raw: unknown): RunState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const columns = Array.isArray(r.columns)
    ? r.columns.map((c: Record<string, unknown> & { spec?: { id?: unknown } }) =>
        typeof c?.error === 'string'
          ? {
              ...c,
              error: {
                deployment: String(c.spec?.id ?? ''),
                kind: c.error.split(':')[0] ?? 'error',
                message: c.error,
              },
            }
          : c,
      )
    : r.columns;
  const parsed = runSchema.safeParse({ fallback: true, ...r, columns });
  return parsed.success ? (parsed.data as RunState) : undefined;
}

/** The file's text: pretty JSON, stable key order (the run's own), a trailing newline. */
export function serializeComparison(run: RunState, savedAt: Date): string {
  const file = {
    kind: SAVED_COMPARISON_KIND,
    version: SAVED_COMPARISON_VERSION,
    savedAt: savedAt.toISOString(),
    run: { ...run, finished: true },
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Reads a saved comparison; throws SavedComparisonError naming file, line, column and field. */
export function parseSavedComparison(text: string, file: string): RunState {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const position = positionsOf(text);
  if (errors.length > 0 || !root) {
    throw new SavedComparisonError(
      (errors.length > 0 ? errors : [{ error: 0, offset: 0, length: 0 }]).map((e) => ({
        file,
        ...position(e.offset),
        field: '',
        message: root ? `invalid JSON (${printParseErrorCode(e.error)})` : 'the file is empty',
      })),
    );
  }
  const result = fileSchema.safeParse(JSON.parse(text));
  if (!result.success) {
    throw new SavedComparisonError(
      result.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const node = deepestNode(root, path);
        return { file, ...position(node.offset), field: fieldName(path), message: issue.message };
      }),
    );
  }
  const run = result.data.run as RunState;
  // A run saved while streaming is not running any more.
  return {
    ...run,
    finished: true,
    columns: run.columns.map(
      (c): ColumnState =>
        c.status === 'pending' || c.status === 'streaming'
          ? {
              ...c,
              status: 'cancelled',
              error: { deployment: c.spec.id, kind: 'cancelled', message: 'saved before it finished' },
            }
          : c,
    ),
  };
}

/** The node at the path, or its closest existing parent (a missing field is reported on its object). */
function deepestNode(root: Node, path: (string | number)[]): Node {
  for (let n = path.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, path.slice(0, n));
    if (node) return node.parent?.type === 'property' ? node.parent : node;
  }
  return root;
}

/** `run.columns[0].spec.provider`. */
export function fieldName(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p),
    '',
  );
}

function positionsOf(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let line = starts.findLastIndex((s) => s <= offset);
    if (line < 0) line = 0;
    return { line: line + 1, column: offset - starts[line]! + 1 };
  };
}

/** `rivers-vs-retries.comparison.json` from a label or title. */
export function savedFileName(run: Pick<RunState, 'label' | 'prompt' | 'startedAt'>): string {
  const base = (run.label || run.prompt.title || 'comparison')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base || 'comparison'}${SAVED_COMPARISON_SUFFIX}`;
}
