/**
 * Formatting shared by the host (CodeLens hints, status bar, exports) and the webview (columns):
 * durations, costs, the compact fallback timeline and the column marks (cheapest, fastest, failed).
 * Pure functions, no vscode and no DOM.
 */
import type { DecisionTrace } from '@switchyard/core';
import type { AttemptView, ColumnState, RunState, RunSummary } from './protocol.ts';

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

export interface TimelineStep {
  /** Shown only when it changes from the previous step (retries on one deployment read `✗ 429 → ✗ 429`). */
  deployment?: string;
  ok: boolean;
  /** `✓ 812 ms $0.0012` or `✗ 429` / `✗ timeout`. */
  label: string;
  /** `waited 1.2 s` after this step, if the router waited. */
  wait?: string;
}

/** The compact fallback path: `openai/gpt-4.1 ✗ 429, waited 1.2 s → ✗ 429 → anthropic/claude-… ✓ 812 ms $0.0012`. */
export function timeline(attempts: readonly AttemptView[]): TimelineStep[] {
  let previous: string | undefined;
  return attempts.map((a) => {
    const ok = a.outcome === 'success';
    const why =
      a.outcome === 'aborted'
        ? 'cancelled'
        : a.status !== undefined
          ? String(a.status)
          : (a.errorKind ?? 'error');
    const label = ok ? `✓ ${formatMs(a.ms)} ${formatUsd(a.costUsd)}` : `✗ ${why}`;
    const step: TimelineStep = { ok, label: a.hedge ? `${label} (hedge)` : label };
    if (a.deployment !== previous) step.deployment = a.deployment;
    if (a.waitedMs !== undefined) step.wait = `waited ${formatMs(a.waitedMs)}`;
    previous = a.deployment;
    return step;
  });
}

export function timelineText(attempts: readonly AttemptView[]): string {
  const steps = timeline(attempts);
  if (steps.length === 0) return '(no attempt)';
  return steps
    .map((s) => `${s.deployment ? `${s.deployment} ` : ''}${s.label}${s.wait ? `, ${s.wait}` : ''}`)
    .join(' → ');
}

export interface ColumnMarks {
  cheapest: string[];
  fastest: string[];
  failed: string[];
}

/**
 * Marks among finished columns: the cheapest and the fastest successful ones (ties all marked; no
 * mark when fewer than two columns succeeded, a comparison of one says nothing), and every failed one.
 */
export function markColumns(columns: readonly ColumnState[]): ColumnMarks {
  const done = columns.filter((c) => c.status === 'done');
  const failed = columns.filter((c) => c.status === 'failed').map((c) => c.spec.id);
  if (done.length < 2) return { cheapest: [], fastest: [], failed };
  const minOf = (pick: (c: ColumnState) => number | undefined) => {
    const values = done.map(pick).filter((v): v is number => v !== undefined);
    if (values.length === 0) return [];
    const min = Math.min(...values);
    return done.filter((c) => pick(c) === min).map((c) => c.spec.id);
  };
  return { cheapest: minOf((c) => c.costUsd), fastest: minOf((c) => c.latencyMs), failed };
}

export function summarizeRun(run: RunState): RunSummary {
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    title: run.prompt.title,
    ...(run.chaos ? { chaos: run.chaos } : {}),
    costUsd: run.columns.reduce((sum, c) => sum + (c.costUsd ?? 0), 0),
    failed: run.columns.filter((c) => c.status === 'failed').length,
    columns: run.columns.length,
  };
}

/** Short model label for tight places: `gpt-4.1` from `openai/gpt-4.1`. */
export function shortName(deployment: string): string {
  const slash = deployment.indexOf('/');
  return slash >= 0 ? deployment.slice(slash + 1) : deployment;
}

/** One line per column for the CodeLens hint above a prompt: `gpt-4.1 ✓ 812 ms $0.0012 · …`. */
export function hintText(run: RunState): string {
  return run.columns
    .map((c) => {
      const name = shortName(c.spec.id);
      if (c.status === 'failed') return `${name} ✗ ${c.error ? c.error.split(':')[0] : 'failed'}`;
      if (c.status === 'cancelled') return `${name} cancelled`;
      if (c.status !== 'done') return `${name} …`;
      const via = c.servedBy && c.servedBy !== c.spec.id ? ` via ${shortName(c.servedBy)}` : '';
      return `${name} ✓${via} ${formatMs(c.latencyMs)} ${formatUsd(c.costUsd)}`;
    })
    .join(' · ');
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The run as Markdown: a metrics table, the paths, then every answer. */
export function runToMarkdown(run: RunState): string {
  const marks = markColumns(run.columns);
  const lines: string[] = [];
  lines.push(`# ${run.prompt.title}`, '');
  lines.push(`Run ${run.runId} at ${new Date(run.startedAt).toISOString()}`);
  if (run.chaos) lines.push(`Chaos: ${run.chaos.fault} on ${run.chaos.provider} (rate ${run.chaos.rate})`);
  lines.push('', `> ${run.prompt.text.replace(/\r?\n/g, '\n> ')}`, '');
  lines.push('| Model | Status | Served by | Latency | TTFT | Tokens in/out | Cost | Finish | Marks |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of run.columns) {
    const m = [
      marks.cheapest.includes(c.spec.id) ? 'cheapest' : '',
      marks.fastest.includes(c.spec.id) ? 'fastest' : '',
      c.spec.simulated ? 'simulated' : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `| ${mdCell(c.spec.id)} | ${c.status} | ${mdCell(c.servedBy ?? '—')} | ${formatMs(c.latencyMs)} | ${formatMs(c.ttftMs)} | ${formatTokens(c.inputTokens)} / ${formatTokens(c.outputTokens)} | ${formatUsd(c.costUsd)} | ${c.finishReason ?? '—'} | ${m} |`,
    );
  }
  lines.push('', '## Fallback paths', '');
  for (const c of run.columns) lines.push(`- **${c.spec.id}**: ${timelineText(c.attempts)}`);
  for (const c of run.columns) {
    lines.push('', `## ${c.spec.id}`, '');
    lines.push(c.status === 'failed' ? `_Failed: ${c.error ?? 'unknown error'}_` : c.text || '_(no text)_');
  }
  return `${lines.join('\n')}\n`;
}

export function runToJson(run: RunState): string {
  return `${JSON.stringify({ ...run, marks: markColumns(run.columns) }, null, 2)}\n`;
}
