/**
 * Formatting shared by the host (CodeLens hints, status bar, exports) and the webview (columns):
 * durations, costs, the compact fallback timeline and the column marks (cheapest, fastest, failed).
 * Pure functions, no vscode and no DOM.
 */
import type { DecisionTrace } from '@switchyard/core';
import type {
  AttemptView,
  ColumnError,
  ColumnParams,
  ColumnState,
  RunState,
  RunSummary,
} from './protocol.ts';

/** `812 ms`, `1.2 s`, `2 min 05 s`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const rounded = Math.round(ms);
  if (rounded < 1000) return `${rounded} ms`;
  if (rounded < 60_000) return `${(rounded / 1000).toFixed(1)} s`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = Math.round((rounded % 60_000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

/**
 * Costs of single calls are fractions of a cent: three significant digits after the zeros, never
 * scientific notation. `$0` for free (local) calls.
 */
export function formatUsd(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 1) return `$${usd.toFixed(2)}`;
  if (abs >= 0.01) return `$${usd.toFixed(4)}`;
  const digits = Math.min(8, Math.max(4, 1 - Math.floor(Math.log10(abs)) + 1));
  return `$${usd.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '')}`;
}

export function formatTokens(n: number | undefined): string {
  if (n === undefined) return '—';
  return n.toLocaleString('en-US');
}

/** The attempts of a decision trace, as the webview shows them (times relative, no content). */
export function attemptViews(trace: Pick<DecisionTrace, 'attempts'>): AttemptView[] {
  return trace.attempts.map((a) => ({
    n: a.n,
    deployment: a.deployment,
    outcome: a.outcome,
    ...(a.status !== undefined ? { status: a.status } : {}),
    ...(a.errorKind !== undefined ? { errorKind: a.errorKind } : {}),
    ms: Math.max(0, a.endedAt - a.startedAt),
    ...(a.delayBeforeNextMs !== undefined ? { waitedMs: a.delayBeforeNextMs } : {}),
    ...(a.delayReason !== undefined ? { delayReason: a.delayReason } : {}),
    ...(a.next !== undefined ? { next: a.next } : {}),
    ...(a.hedge ? { hedge: true } : {}),
    costUsd: a.costUsd,
  }));
}

/**
 * HTTP reason phrases for the statuses providers answer with (the chip reads `✗ 503 service unavailable`).
 * Hand-written: node:http's STATUS_CODES is not in the webview's browser bundle, and 529 (Anthropic's
 * "overloaded") is in no standard table.
 */
const HTTP_REASONS: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized',
  402: 'payment required',
  403: 'forbidden',
  404: 'not found',
  408: 'request timeout',
  409: 'conflict',
  413: 'payload too large',
  422: 'unprocessable',
  429: 'too many requests',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
  529: 'overloaded',
};

/**
 * What failed, in words: the HTTP status and its reason when there was a response (the error kind is
 * the router's reading of it, which can differ: a 503 is classed `overloaded` for retries), else the
 * error kind (`timeout`, `network`, …).
 */
export function failureLabel(status: number | undefined, kind: string | undefined): string {
  if (status !== undefined)
    return `${status} ${HTTP_REASONS[status] ?? (kind ?? 'error').replace(/_/g, ' ')}`;
  return (kind ?? 'error').replace(/_/g, ' ');
}

export function errorLabel(error: ColumnError): string {
  return failureLabel(error.status, error.kind);
}

export interface TimelineStep {
  /** Every chip names its model, retries too. */
  deployment: string;
  /** The same deployment as the step before: a retry. */
  retry: boolean;
  ok: boolean;
  /** `✓ 812 ms $0.0012` or `✗ 429 too many requests` / `✗ timeout`. */
  label: string;
  /** `after 1.2 s`: how long the router waited before this attempt. */
  wait?: string;
}

/** The compact fallback path: `openai/gpt-4.1 ✗ 429 too many requests → ↻ openai/gpt-4.1 after 1.2 s ✗ 429 … → anthropic/… ✓ 812 ms $0.0012`. */
export function timeline(attempts: readonly AttemptView[]): TimelineStep[] {
  return attempts.map((a, i) => {
    const ok = a.outcome === 'success';
    const why = a.outcome === 'aborted' ? 'cancelled' : failureLabel(a.status, a.errorKind);
    const label = ok ? `✓ ${formatMs(a.ms)} ${formatUsd(a.costUsd)}` : `✗ ${why}`;
    const before = attempts[i - 1];
    const step: TimelineStep = {
      deployment: a.deployment,
      retry: before?.deployment === a.deployment,
      ok,
      label: a.hedge ? `${label} (hedge)` : label,
    };
    if (before?.waitedMs !== undefined) step.wait = `after ${formatMs(before.waitedMs)}`;
    return step;
  });
}

export function timelineText(attempts: readonly AttemptView[]): string {
  const steps = timeline(attempts);
  if (steps.length === 0) return '(no attempt)';
  return steps
    .map((s) => `${s.retry ? '↻ ' : ''}${s.deployment}${s.wait ? ` ${s.wait}` : ''} ${s.label}`)
    .join(' → ');
}

export interface ColumnMarks {
  cheapest: string[];
  fastest: string[];
  failed: string[];
  /** Answered by another deployment than their own (the fallback toggle was on). */
  fellBack: string[];
}

/** The column answered with its own model (not a fallback's). */
export function answeredItself(c: ColumnState): boolean {
  return c.status === 'done' && (c.servedBy === undefined || c.servedBy === c.spec.id);
}

/**
 * Marks among finished columns: the cheapest and the fastest among those that answered with their own
 * model (ties all marked; no mark when fewer than two did: a comparison of one says nothing), every
 * failed one, and those a fallback answered — which earn no badge they did not win themselves.
 */
export function markColumns(columns: readonly ColumnState[]): ColumnMarks {
  const own = columns.filter(answeredItself);
  const failed = columns.filter((c) => c.status === 'failed').map((c) => c.spec.id);
  const fellBack = columns.filter((c) => c.status === 'done' && !answeredItself(c)).map((c) => c.spec.id);
  if (own.length < 2) return { cheapest: [], fastest: [], failed, fellBack };
  const minOf = (pick: (c: ColumnState) => number | undefined) => {
    const values = own.map(pick).filter((v): v is number => v !== undefined);
    if (values.length === 0) return [];
    const min = Math.min(...values);
    return own.filter((c) => pick(c) === min).map((c) => c.spec.id);
  };
  return { cheapest: minOf((c) => c.costUsd), fastest: minOf((c) => c.latencyMs), failed, fellBack };
}

export interface SpendSplit {
  liveUsd: number;
  simulatedUsd: number;
}

/** A column's cost split by where each attempt went (a live column's fallback can be simulated). */
export function columnSpend(column: ColumnState, simulatedIds: ReadonlySet<string>): SpendSplit {
  const split: SpendSplit = { liveUsd: 0, simulatedUsd: 0 };
  if (column.attempts.length === 0) {
    if (column.spec.simulated) split.simulatedUsd += column.costUsd ?? 0;
    else split.liveUsd += column.costUsd ?? 0;
    return split;
  }
  for (const a of column.attempts) {
    if (simulatedIds.has(a.deployment)) split.simulatedUsd += a.costUsd;
    else split.liveUsd += a.costUsd;
  }
  return split;
}

export function simulatedIdsOf(run: Pick<RunState, 'columns'>): Set<string> {
  return new Set(run.columns.filter((c) => c.spec.simulated).map((c) => c.spec.id));
}

export interface RunTotals extends SpendSplit {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Wall time of the run (its columns run side by side), when it has finished. */
  wallMs?: number;
  /** The slowest column's latency (while the run is going, the time so far). */
  slowestMs?: number;
}

/** The totals row: cost (live and simulated apart), tokens and time of the whole run. */
export function runTotals(run: RunState): RunTotals {
  const simulated = simulatedIdsOf(run);
  const totals: RunTotals = { costUsd: 0, liveUsd: 0, simulatedUsd: 0, inputTokens: 0, outputTokens: 0 };
  for (const c of run.columns) {
    const split = columnSpend(c, simulated);
    totals.liveUsd += split.liveUsd;
    totals.simulatedUsd += split.simulatedUsd;
    totals.costUsd += c.costUsd ?? 0;
    totals.inputTokens += c.inputTokens ?? 0;
    totals.outputTokens += c.outputTokens ?? 0;
    if (c.latencyMs !== undefined) totals.slowestMs = Math.max(totals.slowestMs ?? 0, c.latencyMs);
  }
  if (run.finished && run.finishedAt !== undefined)
    totals.wallMs = Math.max(0, run.finishedAt - run.startedAt);
  return totals;
}

export function summarizeRun(run: RunState): RunSummary {
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    title: run.prompt.title,
    ...(run.label ? { label: run.label } : {}),
    models: run.columns.map((c) => c.spec.id),
    ...(run.chaos ? { chaos: run.chaos } : {}),
    fallback: run.fallback,
    costUsd: run.columns.reduce((sum, c) => sum + (c.costUsd ?? 0), 0),
    failed: run.columns.filter((c) => c.status === 'failed').length,
    columns: run.columns.length,
  };
}

/** Whether a history entry matches a search: every word in its label, title, models or fault. */
export function matchesSearch(run: RunSummary, query: string): boolean {
  const haystack = [run.label ?? '', run.title, ...run.models, run.chaos?.fault ?? '']
    .join(' ')
    .toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

/** Short model label for tight places: `gpt-4.1` from `openai/gpt-4.1`. */
export function shortName(deployment: string): string {
  const slash = deployment.indexOf('/');
  return slash >= 0 ? deployment.slice(slash + 1) : deployment;
}

/** `simulated` or `live`: every column and every fallback answer says which. */
export function modeLabel(simulated: boolean | undefined): 'simulated' | 'live' {
  return simulated ? 'simulated' : 'live';
}

/** One line per column for the CodeLens hint above a prompt: `gpt-4.1 ✓ 812 ms $0.0012 · …`. */
export function hintText(run: RunState): string {
  return run.columns
    .map((c) => {
      const name = shortName(c.spec.id);
      if (c.status === 'failed') return `${name} ✗ ${c.error ? errorLabel(c.error) : 'failed'}`;
      if (c.status === 'cancelled') return `${name} cancelled`;
      if (c.status !== 'done') return `${name} …`;
      const via = answeredItself(c) ? '' : ` via ${shortName(c.servedBy!)}`;
      return `${name} ✓${via} ${formatMs(c.latencyMs)} ${formatUsd(c.costUsd)}`;
    })
    .join(' · ');
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function paramsText(params: ColumnParams | undefined): string {
  if (!params) return '';
  return [
    params.temperature !== undefined ? `temperature ${params.temperature}` : '',
    params.maxOutputTokens !== undefined ? `max ${params.maxOutputTokens} tokens` : '',
    params.system ? `system "${params.system}"` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The run as Markdown: a metrics table with its totals, the paths, then every answer. */
export function runToMarkdown(run: RunState): string {
  const marks = markColumns(run.columns);
  const totals = runTotals(run);
  const lines: string[] = [];
  lines.push(`# ${run.label ? `${run.label} — ` : ''}${run.prompt.title}`, '');
  lines.push(`Run ${run.runId} at ${new Date(run.startedAt).toISOString()}`);
  lines.push(
    run.fallback ? 'Fallback to the other models: on' : 'Each model answers for itself (fallback off)',
  );
  if (run.chaos) lines.push(`Chaos: ${run.chaos.fault} on ${run.chaos.provider} (rate ${run.chaos.rate})`);
  lines.push('', `> ${run.prompt.text.replace(/\r?\n/g, '\n> ')}`, '');
  lines.push(
    '| Model | Mode | Status | Served by | Latency | TTFT | Tokens in/out | Cost | Finish | Marks |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of run.columns) {
    const m = [
      marks.cheapest.includes(c.spec.id) ? 'cheapest' : '',
      marks.fastest.includes(c.spec.id) ? 'fastest' : '',
      marks.fellBack.includes(c.spec.id) ? 'answered by a fallback' : '',
    ]
      .filter(Boolean)
      .join(', ');
    const served = c.servedBy
      ? `${c.servedBy}${answeredItself(c) ? '' : ` (${modeLabel(c.servedSimulated)})`}`
      : '—';
    lines.push(
      `| ${mdCell(c.spec.id)} | ${modeLabel(c.spec.simulated)} | ${c.status} | ${mdCell(served)} | ${formatMs(c.latencyMs)} | ${formatMs(c.ttftMs)} | ${formatTokens(c.inputTokens)} / ${formatTokens(c.outputTokens)} | ${formatUsd(c.costUsd)} | ${c.finishReason ?? '—'} | ${m} |`,
    );
  }
  lines.push(
    `| **Total** | | | | ${formatMs(totals.wallMs)} (wall) | | ${formatTokens(totals.inputTokens)} / ${formatTokens(totals.outputTokens)} | ${formatUsd(totals.costUsd)} (live ${formatUsd(totals.liveUsd)}, simulated ${formatUsd(totals.simulatedUsd)}) | | |`,
  );
  const withParams = run.columns.filter((c) => c.spec.params);
  if (withParams.length > 0) {
    lines.push('', '## Column parameters', '');
    for (const c of withParams) lines.push(`- **${c.spec.id}**: ${paramsText(c.spec.params)}`);
  }
  lines.push('', '## Fallback paths', '');
  for (const c of run.columns) lines.push(`- **${c.spec.id}**: ${timelineText(c.attempts)}`);
  for (const c of run.columns) {
    lines.push('', `## ${c.spec.id}`, '');
    if (c.error)
      lines.push(
        `_${c.status === 'failed' ? 'Failed' : 'Its own model failed'}: ${errorLabel(c.error)} — ${c.error.message}_`,
        '',
      );
    if (c.status === 'done' && !answeredItself(c))
      lines.push(`_Answered by ${c.servedBy} (${modeLabel(c.servedSimulated)}), not by ${c.spec.id}._`, '');
    if (c.status !== 'failed') lines.push(c.text || '_(no text)_');
  }
  return `${lines.join('\n')}\n`;
}

export function runToJson(run: RunState): string {
  return `${JSON.stringify({ ...run, marks: markColumns(run.columns), totals: runTotals(run) }, null, 2)}\n`;
}
