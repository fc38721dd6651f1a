/**
 * Scenario files as the Testing view sees them, without vscode: which YAML files are scenarios, their
 * hypotheses with lines and labels, located problems, and the test messages of a run's results.
 */
import { ConfigError } from '@switchyard/core';
import { type HypothesisResult, parseScenarioSpec, type RunJournal } from '@switchyard/core/scenarios';
import { closestNames, didYouMean } from '../shared/names.ts';

/** A router config sits next to scenarios in the same folder; only files with hypotheses are scenarios. */
export function looksLikeScenario(text: string): boolean {
  return /^hypotheses\s*:/m.test(text) || (/^load\s*:/m.test(text) && /^faults\s*:/m.test(text));
}

export interface HypothesisOutline {
  index: number;
  /** Stable within the file: the hypothesis id, or `<index>:<type>`. */
  id: string;
  label: string;
  /** 0-based line of the hypothesis. */
  line: number;
}

export interface ScenarioOutline {
  name: string;
  description?: string;
  hypotheses: HypothesisOutline[];
}

/** A located problem, 0-based, in `file` (a problem can be in the router config a scenario names). */
export interface LocatedIssue {
  file: string;
  line: number;
  column: number;
  message: string;
  /** Where the flagged value ends on its line, when the problem is one value. */
  endColumn?: number;
  /** Set when a quick fix can replace the value (`unknown-fault`). */
  code?: 'unknown-fault';
}

/**
 * The loader reports a mistyped fault id as "Invalid option: expected one of …" with all 29 ids; say
 * instead which value is unknown and the closest ids, on the value itself (the quick fix replaces it).
 */
export function explainUnknownFault(
  issue: LocatedIssue,
  text: string,
  faultIds: readonly string[],
): LocatedIssue {
  const field = /^(faults\[\d+\]\.fault): /.exec(issue.message)?.[1];
  if (!field) return issue;
  const line = text.split(/\r?\n/)[issue.line] ?? '';
  const token = /^(["']?)([^\s,"'{}[\]]+)\1/.exec(line.slice(issue.column));
  if (!token || faultIds.includes(token[2]!)) return issue;
  const value = token[2]!;
  const start = issue.column + token[1]!.length;
  return {
    ...issue,
    column: start,
    endColumn: start + value.length,
    code: 'unknown-fault',
    message: `${field}: unknown fault "${value}"${didYouMean(closestNames(value, faultIds))}`,
  };
}

export type OutlineResult = { ok: true; outline: ScenarioOutline } | { ok: false; issues: LocatedIssue[] };

export function outlineScenario(text: string, file: string): OutlineResult {
  try {
    const parsed = parseScenarioSpec(text, file);
    return {
      ok: true,
      outline: {
        name: parsed.spec.name,
        ...(parsed.spec.description ? { description: parsed.spec.description } : {}),
        hypotheses: parsed.spec.hypotheses.map((h, index) => ({
          index,
          id: h.id ?? `${index}:${h.type}`,
          label: hypothesisLabel(h, index),
          line: Math.max(0, (parsed.hypothesisLines[index] ?? 1) - 1),
        })),
      },
    };
  } catch (error) {
    return { ok: false, issues: locatedIssues(error, file) };
  }
}

export function hypothesisLabel(
  h: { id?: string | undefined; type: string; phase?: string },
  index: number,
): string {
  const phase = h.phase && h.phase !== 'overall' ? ` (${h.phase})` : '';
  return h.id ? `${h.id} — ${h.type}${phase}` : `#${index + 1} ${h.type}${phase}`;
}

/** ConfigError / ScenarioError issues (1-based) as 0-based locations; anything else at the top of the file. */
export function locatedIssues(error: unknown, file: string): LocatedIssue[] {
  if (error instanceof ConfigError) {
    return error.issues.map((i) => ({
      file: i.file || file,
      line: Math.max(0, i.line - 1),
      column: Math.max(0, i.column - 1),
      message: i.field ? `${i.field}: ${i.message}` : i.message,
    }));
  }
  return [{ file, line: 0, column: 0, message: error instanceof Error ? error.message : String(error) }];
}

export interface HypothesisVerdict {
  index: number;
  passed: boolean;
  message: string;
  expected: string;
  actual: string;
  /** 0-based line when known. */
  line?: number;
}

/** Results in scenario order (the runner evaluates hypotheses in file order). */
export function verdicts(journal: Pick<RunJournal, 'hypotheses'>): HypothesisVerdict[] {
  return journal.hypotheses.map((h: HypothesisResult, index) => ({
    index,
    passed: h.passed,
    message:
      `${h.kind}${h.phase !== 'overall' ? ` (${h.phase})` : ''}: ${h.description}` +
      (h.examples.length ? `\nexamples: ${h.examples.join(', ')}` : ''),
    expected: h.expected,
    actual: h.actual,
    ...(h.line !== undefined ? { line: h.line - 1 } : {}),
  }));
}

/** Test output wants CRLF line ends (the Testing view's terminal). */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export function journalSummary(journal: RunJournal): string {
  const ok = journal.requests.filter((r) => r.outcome === 'success').length;
  const passed = journal.hypotheses.filter((h) => h.passed).length;
  return (
    `${journal.scenario.name}: ${journal.verdict} — ${passed}/${journal.hypotheses.length} hypotheses held, ` +
    `${ok}/${journal.requests.length} requests succeeded over ${Math.round(journal.durationMs / 1000)} s simulated`
  );
}
