import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JOURNAL_SCHEMA_VERSION, type RunJournal } from '../scenarios/journal.ts';
import { writeFileAtomic } from './atomic.ts';
import { renderHtml, renderIndexHtml } from './html.ts';
import { renderJUnit, renderJUnitSummary } from './junit.ts';
import { renderMarkdown, renderMarkdownSummary } from './markdown.ts';
import { JournalError, parseJournal, parseJournalText } from './schema.ts';
import { scenarioSlug } from './stats.ts';

/**
 * Writing a run's files. Every file is replaced atomically (see writeFileAtomic), so a run killed
 * at any point leaves each file either as it was or complete: never a torn journal. A run first
 * writes an 'incomplete' journal (startJournal), may checkpoint it as it goes, and replaces it with
 * the complete one at the end; an interrupted run therefore always leaves a journal that reads back
 * and says it is incomplete.
 */

export interface ReportFiles {
  journal: string;
  junit: string;
  markdown: string;
  html: string;
}

export interface SummaryFiles {
  markdown: string;
  junit: string;
  html: string;
}

/** The file name stem of a run's reports: `<stem>.journal.json`, `.junit.xml`, `.md`, `.html`. */
export function reportBaseName(journal: Pick<RunJournal, 'scenario'>): string {
  return scenarioSlug(journal.scenario.name);
}

export function reportPaths(outDir: string, baseName: string): ReportFiles {
  return {
    journal: join(outDir, `${baseName}.journal.json`),
    junit: join(outDir, `${baseName}.junit.xml`),
    markdown: join(outDir, `${baseName}.md`),
    html: join(outDir, `${baseName}.html`),
  };
}

function serialize(journal: RunJournal): string {
  return `${JSON.stringify(journal, null, 2)}\n`;
}

/** Writes the journal and the JUnit, Markdown and HTML reports of one run. */
export async function writeReports(journal: RunJournal, outDir: string): Promise<{ files: ReportFiles }> {
  // A runner bug should fail here, naming the field, not as a broken chart later.
  const checked = parseJournal(journal, `run journal of "${journal.scenario?.name ?? '?'}"`);
  const files = reportPaths(outDir, reportBaseName(checked));
  // Render everything before writing anything: a rendering error must not leave a mixed set.
  const contents: Array<[string, string]> = [
    [files.journal, serialize(checked)],
    [files.junit, renderJUnit(checked)],
    [files.markdown, renderMarkdown(checked)],
    [files.html, renderHtml(checked)],
  ];
  await mkdir(outDir, { recursive: true });
  for (const [path, text] of contents) await writeFileAtomic(path, text);
  return { files };
}

/**
 * Writes `summary.md`, `summary.junit.xml` (one testsuite per scenario) and `index.html` linking
 * each scenario's report, as written by writeReports into the same directory.
 */
export async function writeSummary(
  journals: readonly RunJournal[],
  outDir: string,
): Promise<{ files: SummaryFiles }> {
  const checked = journals.map((j, i) => parseJournal(j, `run journal #${i + 1} of the summary`));
  const names = checked.map(reportBaseName);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new Error(
      `two scenario runs would share the report name "${duplicate}": give the scenarios distinct names`,
    );
  }
  const files: SummaryFiles = {
    markdown: join(outDir, 'summary.md'),
    junit: join(outDir, 'summary.junit.xml'),
    html: join(outDir, 'index.html'),
  };
  const contents: Array<[string, string]> = [
    [
      files.markdown,
      renderMarkdownSummary(
        checked,
        names.map((n) => `${n}.html`),
      ),
    ],
    [files.junit, renderJUnitSummary(checked)],
    [files.html, renderIndexHtml(checked, names)],
  ];
  await mkdir(outDir, { recursive: true });
  for (const [path, text] of contents) await writeFileAtomic(path, text);
  return { files };
}

/** Reads and validates a journal; a missing, truncated or malformed file throws a JournalError saying which. */
export async function readJournal(path: string): Promise<RunJournal> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`;
    throw new JournalError(path, `run journal ${why}`, { cause: error });
  }
  return parseJournalText(text, path);
}

// ---------------------------------------------------------------------------------------------
// Incremental journal

/** What a run knows when it starts. */
export type JournalHeader = Pick<RunJournal, 'runId' | 'wall' | 'scenario' | 'versions' | 'mode' | 'config'> &
  Partial<Pick<RunJournal, 'durationMs' | 'faultWindows'>>;

/** What a run has produced so far. */
export type JournalProgress = Partial<
  Pick<
    RunJournal,
    'durationMs' | 'faultWindows' | 'requests' | 'faultCounters' | 'breakerTransitions' | 'hypotheses'
  >
>;

export interface JournalWriter {
  /** Where the journal is (and stays, through checkpoints and the final write). */
  readonly path: string;
  /** The journal as last written. */
  current(): RunJournal;
  /** Atomically replaces the journal with the progress so far; it stays 'incomplete'. */
  checkpoint(progress: JournalProgress): Promise<void>;
  /** Writes the complete journal and every report. */
  finish(journal: RunJournal): Promise<{ files: ReportFiles }>;
  /**
   * For a run that stops early (a signal, an error): writes what happened so far as an
   * 'incomplete' journal and the reports that say so (JUnit gets an error, not skips).
   */
  interrupt(progress?: JournalProgress): Promise<{ files: ReportFiles }>;
}

export function incompleteJournal(header: JournalHeader, progress: JournalProgress = {}): RunJournal {
  return {
    schemaVersion: JOURNAL_SCHEMA_VERSION,
    runId: header.runId,
    status: 'incomplete',
    wall: { startedAt: header.wall.startedAt },
    scenario: header.scenario,
    versions: header.versions,
    mode: header.mode,
    config: header.config,
    durationMs: progress.durationMs ?? header.durationMs ?? 0,
    faultWindows: progress.faultWindows ?? header.faultWindows ?? [],
    requests: progress.requests ?? [],
    faultCounters: progress.faultCounters ?? { requestsSeen: 0, injected: {}, byTarget: {} },
    breakerTransitions: progress.breakerTransitions ?? [],
    hypotheses: progress.hypotheses ?? [],
    verdict: 'incomplete',
  };
}

/**
 * Starts a run's journal: writes it as 'incomplete' at once, so from here on the output directory
 * always holds a readable journal for this run, whatever happens to the process.
 */
export async function startJournal(outDir: string, header: JournalHeader): Promise<JournalWriter> {
  const files = reportPaths(outDir, reportBaseName(header));
  let latest = incompleteJournal(header);
  let finished = false;
  // Writes run one at a time, in call order: a slow checkpoint cannot land after the final journal.
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };
  const ensureOpen = (what: string) => {
    if (finished) throw new Error(`journal ${files.journal} is already final: cannot ${what}`);
  };

  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(files.journal, serialize(latest));

  return {
    path: files.journal,
    current: () => latest,
    async checkpoint(progress) {
      ensureOpen('checkpoint');
      const next = incompleteJournal(header, { ...progressOf(latest), ...progress });
      latest = next;
      return enqueue(() => writeFileAtomic(files.journal, serialize(next)));
    },
    async finish(journal) {
      ensureOpen('finish');
      if (reportPaths(outDir, reportBaseName(journal)).journal !== files.journal) {
        throw new Error(`the finished journal names another scenario than ${files.journal} was started for`);
      }
      finished = true;
      latest = journal;
      return enqueue(() => writeReports(journal, outDir));
    },
    async interrupt(progress = {}) {
      ensureOpen('interrupt');
      finished = true;
      const journal = incompleteJournal(header, { ...progressOf(latest), ...progress });
      latest = journal;
      return enqueue(() => writeReports(journal, outDir));
    },
  };
}

function progressOf(journal: RunJournal): JournalProgress {
  return {
    durationMs: journal.durationMs,
    faultWindows: journal.faultWindows,
    requests: journal.requests,
    faultCounters: journal.faultCounters,
    breakerTransitions: journal.breakerTransitions,
    hypotheses: journal.hypotheses,
  };
}
