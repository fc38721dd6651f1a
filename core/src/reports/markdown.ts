import { type HypothesisResult, hypothesisVerdict, type RunJournal } from '../scenarios/journal.ts';
import {
  attemptPath,
  formatClock,
  formatMs,
  formatPercent,
  formatRecovery,
  formatSpend,
  formatUsd,
  inconclusiveNote,
  NOT_OBSERVABLE,
  recoveries,
  type Summary,
  summarize,
  type Verdict,
  verdictOf,
} from './stats.ts';

/**
 * A Markdown summary for a GitHub step summary or a PR comment. GitHub renders inline HTML and
 * Markdown in table cells, so every value from the journal goes through `mdText`: a scenario name
 * cannot open a tag, break a table row or turn into a link.
 */

const MAX_EXAMPLES = 5;

/** Escapes text for a Markdown paragraph or table cell (one line; pipes and markup neutralised). */
export function mdText(value: unknown): string {
  return String(value)
    .replace(/\r\n?|\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1');
}

/**
 * Inline code that cannot be closed early: the fence is longer than any backtick run inside. A
 * value with a pipe or a backslash is written as an HTML <code> element with escaped text instead:
 * in a table a backtick span must write its pipes as `\|`, and a backslash already there before a
 * pipe (`a\|b`) then made `\\|`, which ends the cell and the span, and what followed rendered as
 * HTML. Outside a code span every character has an escape.
 */
function mdCode(value: string): string {
  const text = value.replace(/\r\n?|\n/g, ' ');
  if (/[|\\]/.test(text)) return `<code>${mdText(text)}</code>`;
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

const VERDICT: Record<Verdict, string> = {
  passed: '✅ Passed',
  failed: '❌ Failed',
  incomplete: '⚠️ Incomplete',
};

function verdictLine(journal: RunJournal, s: Summary): string {
  const verdict = verdictOf(journal);
  if (verdict === 'incomplete') {
    return `**${VERDICT[verdict]}** — the run was interrupted after ${formatMs(journal.durationMs)} of simulated time and ${s.requests} requests; its hypotheses were not all evaluated.`;
  }
  const h = s.hypotheses;
  return `**${VERDICT[verdict]}** — ${h.passed} of ${h.total} hypotheses held${h.failed ? `, ${h.failed} failed` : ''}${inconclusiveNote(h).replace(';', ',')}.`;
}

function keyFigures(s: Summary, journal: RunJournal): string[] {
  const recovery = recoveries(journal).filter((r) => !r.unobserved);
  const slowest = recovery.some((r) => r.successRecoveredAfterMs === null)
    ? 'not recovered'
    : recovery.length
      ? formatRecovery(Math.max(...recovery.map((r) => r.successRecoveredAfterMs ?? 0)))
      : '—';
  return [
    '| Requests | Success rate | Fallbacks | p95 latency | p95 TTFT | Cost | Cost / success | Wasted | Recovery |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${s.requests} | ${formatPercent(s.successRate)} (${s.failures} failed) | ${s.fallbacks} (${formatPercent(s.fallbackRate)}) | ${formatMs(s.latency.p95)} | ${formatMs(s.ttft.p95)} | ${formatSpend(s, s.costUsd)} | ${formatSpend(s, s.costPerSuccessUsd)} | ${s.spendObservable ? `${formatUsd(s.wastedUsd)} (${formatPercent(s.wastedShare)})` : NOT_OBSERVABLE} | ${slowest} |`,
  ];
}

/** 'Failed hypotheses', 'Inconclusive hypotheses', or both. */
export function notPassedTitle(hypotheses: readonly HypothesisResult[]): string {
  const unsure = hypotheses.filter((h) => hypothesisVerdict(h) === 'inconclusive').length;
  if (unsure === 0) return 'Failed hypotheses';
  return unsure === hypotheses.length ? 'Inconclusive hypotheses' : 'Failed and inconclusive hypotheses';
}

const MARK = { passed: '✅', failed: '❌', inconclusive: '❔' } as const;

function hypothesisTable(hypotheses: readonly HypothesisResult[]): string[] {
  return [
    '| | Phase | Hypothesis | Expected | Actual |',
    '| :-: | --- | --- | --- | --- |',
    ...hypotheses.map(
      (h) =>
        `| ${MARK[hypothesisVerdict(h)]} | ${mdText(h.phase)} | ${mdText(h.description || h.id)} | ${mdText(h.expected)} | ${mdText(h.actual)} |`,
    ),
  ];
}

function failedDetails(journal: RunJournal, headingLevel: string): string[] {
  const failed = journal.hypotheses.filter((h) => hypothesisVerdict(h) !== 'passed');
  if (failed.length === 0) return [];
  const requests = new Map(journal.requests.map((r) => [r.id, r]));
  const lines = [`${headingLevel} ${notPassedTitle(failed)}`, ''];
  for (const h of failed) {
    const unsure = hypothesisVerdict(h) === 'inconclusive';
    const tag = unsure ? ` — ❔ inconclusive${h.passed ? ' (allowed by the scenario)' : ''}` : '';
    lines.push(
      `**[${mdText(h.phase)}] ${mdText(h.description || h.id)}** (${mdCode(h.id)}, ${mdText(h.kind)})${tag}`,
    );
    lines.push('');
    lines.push(`- Expected: ${mdText(h.expected)}`);
    lines.push(`- Actual: ${mdText(h.actual)}`);
    const shown = h.examples.slice(0, MAX_EXAMPLES);
    if (shown.length) {
      lines.push(`- Example requests (${shown.length} of ${h.examples.length}):`);
      for (const id of shown) {
        const r = requests.get(id);
        lines.push(
          r
            ? `  - ${mdCode(id)} at ${formatClock(r.startMs)}, ${formatMs(r.latencyMs)}: ${mdCode(attemptPath(r))}`
            : `  - ${mdCode(id)}`,
        );
      }
    }
    lines.push('');
  }
  return lines;
}

function faultsTable(journal: RunJournal): string[] {
  if (journal.faultWindows.length === 0) return ['No faults were injected.'];
  return [
    '| Rule | Fault | Target | Window | Injected |',
    '| --- | --- | --- | --- | ---: |',
    ...journal.faultWindows.map((w) => {
      const injected = journal.faultCounters.injected[w.ruleId] ?? journal.faultCounters.injected[w.fault];
      return `| ${mdCode(w.ruleId)} | ${mdText(w.fault)} | ${mdCode(w.target)} | ${formatClock(w.fromMs)}–${formatClock(w.toMs)} | ${injected ?? '—'} |`;
    }),
  ];
}

/** The Markdown report of one run. */
export function renderMarkdown(journal: RunJournal): string {
  const s = summarize(journal);
  const lines: string[] = [
    `## ${VERDICT[verdictOf(journal)].split(' ')[0]} ${mdText(journal.scenario.name)}`,
    '',
    verdictLine(journal, s),
    '',
  ];
  if (journal.scenario.description) lines.push(`> ${mdText(journal.scenario.description)}`, '');
  lines.push(
    `Seed ${mdText(journal.scenario.seed)} · ${mdText(journal.mode)} clock · ${formatMs(journal.durationMs)} simulated · run ${mdCode(journal.runId)} · ${mdCode(journal.scenario.file)}`,
    '',
    '### Key figures',
    '',
    ...keyFigures(s, journal),
    '',
    '### Hypotheses',
    '',
  );
  if (journal.hypotheses.length) lines.push(...hypothesisTable(journal.hypotheses));
  else
    lines.push(verdictOf(journal) === 'incomplete' ? '_None evaluated: the run did not finish._' : '_None._');
  lines.push('', ...failedDetails(journal, '###'), '### Faults injected', '', ...faultsTable(journal), '');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}`;
}

/** One Markdown summary over several scenario runs: an overview table, then what failed. */
export function renderMarkdownSummary(
  journals: readonly RunJournal[],
  links: readonly string[] = [],
): string {
  const verdicts = journals.map(verdictOf);
  const overall: Verdict = verdicts.includes('incomplete')
    ? 'incomplete'
    : verdicts.includes('failed')
      ? 'failed'
      : 'passed';
  const passed = verdicts.filter((v) => v === 'passed').length;
  const lines = [
    `## ${VERDICT[overall]}: ${passed} of ${journals.length} scenario${journals.length === 1 ? '' : 's'} passed`,
    '',
    '| | Scenario | Hypotheses | Requests | Success rate | p95 latency | Cost | Wasted | Report |',
    '| :-: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  journals.forEach((j, i) => {
    const s = summarize(j);
    const v = verdictOf(j);
    const link = links[i] ? mdCode(links[i]) : '';
    lines.push(
      `| ${VERDICT[v].split(' ')[0]} | ${mdText(j.scenario.name)} | ${v === 'incomplete' ? 'not evaluated' : `${s.hypotheses.passed}/${s.hypotheses.total}${s.hypotheses.inconclusive ? ` (${s.hypotheses.inconclusive} ❔)` : ''}`} | ${s.requests} | ${formatPercent(s.successRate)} | ${formatMs(s.latency.p95)} | ${formatSpend(s, s.costUsd)} | ${formatSpend(s, s.wastedUsd)} | ${link} |`,
    );
  });
  lines.push('');
  for (const j of journals) {
    const failed = failedDetails(j, '####');
    if (failed.length === 0 && verdictOf(j) !== 'incomplete') continue;
    lines.push(`### ${VERDICT[verdictOf(j)].split(' ')[0]} ${mdText(j.scenario.name)}`, '');
    if (verdictOf(j) === 'incomplete') lines.push(verdictLine(j, summarize(j)), '');
    lines.push(...failed);
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}
