/**
 * Reports of a scenario run: JUnit XML, Markdown, a self-contained HTML report, and the journal
 * they are all rendered from, written atomically.
 */
export { writeFileAtomic } from './atomic.ts';
export { type ChartData, chartData, escapeHtml, renderHtml, renderIndexHtml } from './html.ts';
export { escapeXml, hypothesisTestName, renderJUnit, renderJUnitSuite, renderJUnitSummary } from './junit.ts';
export { mdText, renderMarkdown, renderMarkdownSummary } from './markdown.ts';
export { JournalError, parseJournal, parseJournalText, runJournalSchema } from './schema.ts';
export {
  attemptPath,
  type BreakerLane,
  type Bucket,
  breakerLanes,
  type DeploymentStats,
  deploymentStats,
  type FlowEdge,
  type FlowKind,
  flowEdges,
  formatMs,
  isFallback,
  percentile,
  type Recovery,
  recoveries,
  type Summary,
  scenarioSlug,
  summarize,
  timeBuckets,
  verdictOf,
} from './stats.ts';
export {
  incompleteJournal,
  type JournalHeader,
  type JournalProgress,
  type JournalWriter,
  type ReportFiles,
  readJournal,
  reportBaseName,
  reportPaths,
  type SummaryFiles,
  startJournal,
  writeReports,
  writeSummary,
} from './write.ts';
