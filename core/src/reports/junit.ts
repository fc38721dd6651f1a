import {
  type HypothesisResult,
  hypothesisVerdict,
  type RequestRecord,
  type RunJournal,
} from '../scenarios/journal.ts';
import { attemptPath, formatClock, formatMs, verdictOf } from './stats.ts';

/**
 * JUnit XML: one testcase per hypothesis, so CI systems (GitHub, GitLab, Jenkins) list each
 * hypothesis as a test. An interrupted run adds an error testcase: a hypothesis that was not
 * evaluated is never reported as skipped, since a skip reads as "fine" on most dashboards. For the
 * same reason an inconclusive hypothesis (no evidence) is a failure of type "inconclusive", unless
 * the scenario allowed it: then, and only then, it is skipped, with the reason.
 */

const MAX_EXAMPLES = 5;

/** Characters XML 1.0 cannot carry at all, even escaped (control characters, lone surrogates). */
const INVALID_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for XML content and attribute values; characters XML cannot hold become U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** For attributes, line breaks and tabs are kept as character references (parsers normalise raw ones to spaces). */
function attr(text: string): string {
  return escapeXml(text).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1_000).toFixed(3);
}

export function hypothesisTestName(h: HypothesisResult): string {
  return `[${h.phase}] ${h.description || h.id}`;
}

interface SuiteCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

/** An inconclusive hypothesis the scenario allowed: reported as skipped. */
const skippedAsAllowed = (h: HypothesisResult) => h.passed && hypothesisVerdict(h) === 'inconclusive';

function suiteCounts(journal: RunJournal): SuiteCounts {
  const incomplete = verdictOf(journal) === 'incomplete';
  return {
    tests: journal.hypotheses.length + (incomplete ? 1 : 0),
    failures: journal.hypotheses.filter((h) => !h.passed).length,
    errors: incomplete ? 1 : 0,
    skipped: journal.hypotheses.filter(skippedAsAllowed).length,
  };
}

/** One `<testsuite>` element for a run (indented for inclusion in `<testsuites>`). */
export function renderJUnitSuite(journal: RunJournal): string {
  const counts = suiteCounts(journal);
  const suiteName = journal.scenario.name;
  const requests = new Map(journal.requests.map((r) => [r.id, r]));
  const lines: string[] = [];
  lines.push(
    `  <testsuite name="${attr(suiteName)}" tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${seconds(journal.wall.durationMs)}" timestamp="${attr(journal.wall.startedAt)}" file="${attr(journal.scenario.file)}">`,
  );
  lines.push('    <properties>');
  const properties: Array<[string, string]> = [
    ['runId', journal.runId],
    ['seed', String(journal.scenario.seed)],
    ['mode', journal.mode],
    ['status', journal.status],
    ['verdict', verdictOf(journal)],
    ['simulatedDurationMs', String(journal.durationMs)],
    ['requests', String(journal.requests.length)],
    ['switchyard', journal.versions.switchyard],
    ['node', journal.versions.node],
  ];
  for (const [name, value] of properties) {
    lines.push(`      <property name="${attr(name)}" value="${attr(value)}"/>`);
  }
  lines.push('    </properties>');

  if (verdictOf(journal) === 'incomplete') {
    const message =
      `run incomplete: the run was interrupted after ${formatMs(journal.durationMs)} of simulated time ` +
      `and ${journal.requests.length} requests; hypotheses not listed here were not evaluated`;
    lines.push(
      `    <testcase classname="${attr(suiteName)}" name="[run] scenario ran to completion" time="0" file="${attr(journal.scenario.file)}">`,
    );
    lines.push(`      <error message="${attr(message)}" type="incomplete">${escapeXml(message)}</error>`);
    lines.push('    </testcase>');
  }

  for (const h of journal.hypotheses) {
    const line = h.line === undefined ? '' : ` line="${h.line}"`;
    const open = `    <testcase classname="${attr(suiteName)}" name="${attr(hypothesisTestName(h))}" time="0" file="${attr(journal.scenario.file)}"${line}`;
    if (skippedAsAllowed(h)) {
      const message = `inconclusive (allowed by the scenario): ${h.actual}`;
      lines.push(`${open}>`, `      <skipped message="${attr(message)}"/>`, '    </testcase>');
      continue;
    }
    if (h.passed) {
      lines.push(`${open}/>`);
      continue;
    }
    lines.push(`${open}>`);
    const message = `expected ${h.expected}, actual ${h.actual}`;
    const type = hypothesisVerdict(h) === 'inconclusive' ? 'inconclusive' : h.kind;
    lines.push(
      `      <failure message="${attr(message)}" type="${attr(type)}">${escapeXml(failureBody(h, requests))}</failure>`,
    );
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>');
  return lines.join('\n');
}

function failureBody(h: HypothesisResult, requests: Map<string, RequestRecord>): string {
  const body = [
    `Hypothesis: ${h.id} (${h.kind}, phase ${h.phase})${hypothesisVerdict(h) === 'inconclusive' ? ' — inconclusive: the run held no evidence either way' : ''}`,
    `Expected: ${h.expected}`,
    `Actual:   ${h.actual}`,
  ];
  if (h.examples.length) {
    body.push(`Example requests (${Math.min(MAX_EXAMPLES, h.examples.length)} of ${h.examples.length}):`);
    for (const id of h.examples.slice(0, MAX_EXAMPLES)) {
      const request = requests.get(id);
      body.push(request ? `  ${id} at ${formatClock(request.startMs)}: ${attemptPath(request)}` : `  ${id}`);
    }
  }
  return body.join('\n');
}

function renderSuites(journals: readonly RunJournal[]): string {
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  let time = 0;
  for (const j of journals) {
    const c = suiteCounts(j);
    tests += c.tests;
    failures += c.failures;
    errors += c.errors;
    skipped += c.skipped;
    time += j.wall.durationMs ?? 0;
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="switchyard" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(time)}">`,
    ...journals.map(renderJUnitSuite),
    '</testsuites>',
    '',
  ].join('\n');
}

/** The JUnit XML document for one run. */
export function renderJUnit(journal: RunJournal): string {
  return renderSuites([journal]);
}

/** One JUnit document with a testsuite per scenario run. */
export function renderJUnitSummary(journals: readonly RunJournal[]): string {
  return renderSuites(journals);
}
