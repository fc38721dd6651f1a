import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type HypothesisResult,
  hypothesisVerdict,
  type RequestRecord,
  type RunJournal,
} from '../scenarios/journal.ts';
import { CLIENT_SCRIPT } from './html-client.ts';
import { notPassedTitle } from './markdown.ts';
import {
  ANSWERED_NODE,
  attemptPath,
  breakerLanes,
  deploymentStats,
  FAILED_NODE,
  type FlowKind,
  flowEdges,
  formatClock,
  formatMs,
  formatPercent,
  formatRecovery,
  formatSpend,
  formatUsd,
  inconclusiveNote,
  mergedFaultWindows,
  NOT_OBSERVABLE,
  RECOVERY_THRESHOLD,
  REQUEST_NODE,
  recoveries,
  runSpanMs,
  type Summary,
  spendObservable,
  summarize,
  timeBuckets,
  verdictOf,
} from './stats.ts';

/**
 * The HTML resilience report: one self-contained file that works offline from file://.
 *
 * Charts use uPlot (MIT, ~50 KB minified, no dependencies): it draws time series on a canvas, so a
 * report with tens of thousands of points stays light, it inlines as one small script, and its
 * hooks let us shade fault windows and draw the breaker timeline on the same synced time axis.
 * Chart.js (~200 KB) and ECharts (~1 MB) would do too, at four to twenty times the weight.
 * The library's files are read from node_modules at render time and embedded, with a
 * Content-Security-Policy that allows only those exact scripts (by hash) and no network at all.
 */

const require = createRequire(import.meta.url);

/** The embedded scripts (uPlot and ours), ready to inline, with their CSP hashes: built once per process. */
let scriptAssets: { css: string; libScript: string; appScript: string; scriptSrc: string } | undefined;
function assets(): { css: string; libScript: string; appScript: string; scriptSrc: string } {
  if (!scriptAssets) {
    const libScript = inlineScript(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    const appScript = inlineScript(CLIENT_SCRIPT);
    scriptAssets = {
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
      libScript,
      appScript,
      scriptSrc: `script-src ${sha256(libScript)} ${sha256(appScript)}`,
    };
  }
  return scriptAssets;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
const esc = escapeHtml;

/** Embeds JSON in a `<script type="application/json">`: nothing in it may close the element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A script is embedded raw: a closing tag in it would end the element early. */
function inlineScript(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const MAX_EXAMPLES = 5;

export function renderHtml(journal: RunJournal): string {
  const summary = summarize(journal);
  const verdict = verdictOf(journal);
  const charts = chartData(journal);
  const { css, libScript, appScript, scriptSrc } = assets();
  const csp = [
    "default-src 'none'",
    scriptSrc,
    // uPlot positions its elements with inline styles; bars in the tables use style attributes.
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

  const title = `${journal.scenario.name} — ${verdict}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="Switchyard ${esc(journal.versions.switchyard)}">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
${header(journal, summary)}
<main>
${figures(journal, summary)}
${failedSection(journal)}
${hypothesesSection(journal)}
${chartsSection(journal, charts)}
${recoverySection(journal)}
${flowSection(journal)}
${faultsSection(journal)}
</main>
${footer(journal)}
<script type="application/json" id="switchyard-data">${jsonForScript(charts)}</script>
<script>${libScript}</script>
<script>${appScript}</script>
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// Sections

const VERDICT_TEXT = { passed: 'Passed', failed: 'Failed', incomplete: 'Incomplete' } as const;
const VERDICT_ICON = { passed: '✓', failed: '✗', incomplete: '!' } as const;

function header(journal: RunJournal, summary: Summary): string {
  const verdict = verdictOf(journal);
  const h = summary.hypotheses;
  const detail =
    verdict === 'incomplete'
      ? `The run was interrupted after ${esc(formatMs(journal.durationMs))} of simulated time and ${summary.requests} requests: its hypotheses were not all evaluated, so it proves nothing yet.`
      : `${h.passed} of ${h.total} hypotheses held${h.failed ? `; ${h.failed} failed` : ''}${inconclusiveNote(h)}.`;
  const meta = [
    ['seed', String(journal.scenario.seed)],
    ['mode', journal.mode],
    ['simulated', formatMs(journal.durationMs)],
    ['file', journal.scenario.file],
    ['run', journal.runId],
    ['started', journal.wall.startedAt],
  ];
  return `<header class="verdict verdict-${verdict}">
<div class="wrap">
<p class="eyebrow">Switchyard resilience report</p>
<div class="verdict-line"><span class="badge badge-${verdict}" id="verdict">${VERDICT_ICON[verdict]} ${VERDICT_TEXT[verdict]}</span>
<h1 id="scenario-name">${esc(journal.scenario.name)}</h1></div>
<p class="description">${esc(journal.scenario.description)}</p>
<p class="verdict-detail">${detail}</p>
<dl class="meta">${meta.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
</div>
</header>`;
}

function figures(journal: RunJournal, s: Summary): string {
  const recovery = recoveries(journal);
  const worst = recovery.reduce<number | null>(
    (m, r) => (r.successRecoveredAfterMs === null ? m : Math.max(m ?? 0, r.successRecoveredAfterMs)),
    null,
  );
  const observed = recovery.filter((r) => !r.unobserved);
  const notRecovered = observed.some((r) => r.successRecoveredAfterMs === null);
  const cards: Array<[string, string, string, string?]> = [
    ['Requests', String(s.requests), `${s.attempts} attempts · ${s.retries} retries · ${s.hedges} hedges`],
    [
      'Success rate',
      formatPercent(s.successRate),
      `${s.failures} failed`,
      s.successRate !== null && s.successRate < 1 ? 'warn' : undefined,
    ],
    ['Fallback rate', formatPercent(s.fallbackRate), `${s.fallbacks} served by a fallback`],
    [
      'Latency p95',
      formatMs(s.latency.p95),
      `p50 ${formatMs(s.latency.p50)} · p99 ${formatMs(s.latency.p99)}`,
    ],
    ['TTFT p95', formatMs(s.ttft.p95), `p50 ${formatMs(s.ttft.p50)} · streams only`],
    s.spendObservable
      ? ['Cost', formatUsd(s.costUsd), `${formatUsd(s.costPerSuccessUsd)} per success`]
      : ['Cost', NOT_OBSERVABLE, "the gateway's spend is not priced from outside"],
    s.spendObservable
      ? [
          'Wasted spend',
          formatUsd(s.wastedUsd),
          `${formatPercent(s.wastedShare)} of spend on unused work`,
          s.wastedUsd > 0 ? 'warn' : undefined,
        ]
      : ['Wasted spend', NOT_OBSERVABLE, 'nor what of it went unused'],
    [
      'Recovery',
      observed.length === 0 ? '—' : notRecovered ? 'not recovered' : formatRecovery(worst),
      recovery.length === 0
        ? 'no fault window'
        : observed.length === 0
          ? 'the run ended before the fault did'
          : `to ≥ ${formatPercent(RECOVERY_THRESHOLD, 0)} success after the fault`,
      notRecovered ? 'bad' : undefined,
    ],
    [
      'Faults injected',
      String(s.faultsInjected),
      `${journal.faultWindows.length} window${journal.faultWindows.length === 1 ? '' : 's'} · ${journal.faultCounters.requestsSeen} calls seen`,
    ],
  ];
  return `<section class="figures" aria-label="Key figures">
${cards
  .map(
    ([label, value, note, tone]) =>
      `<div class="card${tone ? ` card-${tone}` : ''}"><div class="card-label">${esc(label)}</div><div class="card-value">${esc(value)}</div><div class="card-note">${esc(note)}</div></div>`,
  )
  .join('\n')}
</section>`;
}

function hypothesisCell(h: HypothesisResult): string {
  const where = [h.id, h.kind, h.line === undefined ? '' : `line ${h.line}`].filter(Boolean).join(' · ');
  return `<div>${esc(h.description || h.id)}</div><div class="sub">${esc(where)}</div>`;
}

function resultBadge(h: HypothesisResult): string {
  const verdict = hypothesisVerdict(h);
  if (verdict === 'passed') return '<span class="pill pill-pass">✓ pass</span>';
  if (verdict === 'failed') return '<span class="pill pill-fail">✗ fail</span>';
  return `<span class="pill pill-unsure" title="no evidence either way${h.passed ? '; allowed by the scenario' : '; fails the run'}">? inconclusive${h.passed ? ' (allowed)' : ''}</span>`;
}

const ROW_CLASS = { passed: 'row-pass', failed: 'row-fail', inconclusive: 'row-unsure' } as const;

function hypothesesSection(journal: RunJournal): string {
  const rows = journal.hypotheses
    .map(
      (h) =>
        `<tr class="${ROW_CLASS[hypothesisVerdict(h)]}"><td>${resultBadge(h)}</td><td><span class="phase">${esc(h.phase)}</span></td><td>${hypothesisCell(h)}</td><td>${esc(h.expected)}</td><td>${esc(h.actual)}</td></tr>`,
    )
    .join('\n');
  const empty =
    verdictOf(journal) === 'incomplete'
      ? 'No hypothesis was evaluated: the run did not finish.'
      : 'This scenario states no hypotheses.';
  return `<section id="hypotheses">
<h2>Hypotheses</h2>
${
  journal.hypotheses.length
    ? `<div class="table-wrap"><table class="hypotheses"><thead><tr><th>Result</th><th>Phase</th><th>Hypothesis</th><th>Expected</th><th>Actual</th></tr></thead><tbody>
${rows}
</tbody></table></div>`
    : `<p class="empty">${empty}</p>`
}
</section>`;
}

function failedSection(journal: RunJournal): string {
  const failed = journal.hypotheses.filter((h) => hypothesisVerdict(h) !== 'passed');
  if (failed.length === 0) return '';
  const requests = new Map(journal.requests.map((r) => [r.id, r]));
  const blocks = failed.map((h) => {
    const shown = h.examples.slice(0, MAX_EXAMPLES);
    const examples = shown.length
      ? `<div class="table-wrap"><table class="examples"><thead><tr><th>Request</th><th>Start</th><th>Latency</th><th>Outcome</th><th>Attempt path</th></tr></thead><tbody>
${shown.map((id) => exampleRow(id, requests.get(id))).join('\n')}
</tbody></table></div>${h.examples.length > shown.length ? `<p class="sub">${shown.length} of ${h.examples.length} example requests shown.</p>` : ''}`
      : '<p class="sub">No example requests recorded for this hypothesis.</p>';
    const unsure = hypothesisVerdict(h) === 'inconclusive';
    return `<article class="failure${unsure ? ' unsure' : ''}">
<h3>${unsure ? '<span class="pill pill-unsure">? inconclusive</span> ' : ''}${esc(`[${h.phase}] ${h.description || h.id}`)}</h3>
<p class="sub">${esc([h.id, h.kind, h.line === undefined ? '' : `line ${h.line}`].filter(Boolean).join(' · '))}</p>
<dl class="expect"><div><dt>Expected</dt><dd>${esc(h.expected)}</dd></div><div><dt>Actual</dt><dd>${esc(h.actual)}</dd></div></dl>
${examples}
</article>`;
  });
  return `<section id="failed">
<h2>${notPassedTitle(failed)}</h2>
${blocks.join('\n')}
</section>`;
}

function exampleRow(id: string, request: RequestRecord | undefined): string {
  if (!request)
    return `<tr><td><code>${esc(id)}</code></td><td colspan="4" class="sub">not in the journal</td></tr>`;
  const outcome =
    request.outcome === 'success'
      ? `<span class="ok">✓ ${esc(request.finalDeployment ?? 'success')}</span>`
      : `<span class="bad">✗ ${esc(request.errorKind ?? 'error')}</span>`;
  return `<tr><td><code>${esc(id)}</code></td><td>${esc(formatClock(request.startMs))}</td><td>${esc(formatMs(request.latencyMs))}</td><td>${outcome}</td><td><code class="path">${esc(attemptPath(request))}</code></td></tr>`;
}

function chartsSection(journal: RunJournal, charts: ChartData): string {
  const size = formatMs(charts.bucketS * 1_000);
  const figure = (id: string, title: string, caption: string, legend = '') =>
    `<figure class="chart-figure"><figcaption><h3>${esc(title)}</h3><p class="sub">${esc(caption)}</p></figcaption>${legend}<div class="chart" data-chart="${id}" id="chart-${id}"></div></figure>`;
  const faultLegend = journal.faultWindows.length
    ? '<p class="legend"><span class="swatch swatch-fault"></span>fault window</p>'
    : '';
  const breakerLegend =
    '<p class="legend"><span class="swatch swatch-closed"></span>closed <span class="swatch swatch-half"></span>half-open <span class="swatch swatch-open"></span>open</p>';
  return `<section id="charts">
<h2>Over time</h2>
<p class="sub">Requests bucketed by start time (${esc(size)} buckets); latency counts successful requests. Shaded: fault windows.</p>
${faultLegend}
${figure('latency', 'Latency', 'p50, p95 and p99 of successful requests, per bucket.')}
${figure('ttft', 'Time to first token', 'Streaming requests only.')}
${figure('outcomes', 'Success, failure and fallback rate', 'Fallback: answered by another deployment than the preferred one (after a failed attempt or past an open breaker).')}
${
  spendObservable(journal)
    ? figure(
        'cost',
        'Cost per success and wasted spend',
        'Line: spend per successful request (left axis). Bars: spend nobody used — hedge losers, failed partial streams (right axis).',
      )
    : `<figure class="chart-figure"><figcaption><h3>Cost per success and wasted spend</h3><p class="sub">${NOT_OBSERVABLE}: a gateway graded from outside does not say what its upstream calls cost.</p></figcaption></figure>`
}
${figure('breakers', 'Circuit breakers', 'State of each deployment’s breaker over the run.', breakerLegend)}
</section>`;
}

function recoverySection(journal: RunJournal): string {
  const list = recoveries(journal);
  if (list.length === 0) return '';
  const rows = list.map((r) => {
    if (r.unobserved) {
      return `<tr><td>${esc(r.faults.join(', '))}</td><td>${esc(formatClock(r.fromMs))}–${esc(formatClock(r.toMs))}</td><td colspan="3" class="sub">not observed: no request started after the fault window (the run ended)</td></tr>`;
    }
    const success =
      r.successRecoveredAfterMs === null
        ? '<span class="bad">not recovered</span>'
        : esc(formatRecovery(r.successRecoveredAfterMs));
    const breakers =
      r.breakersStillOpen.length > 0
        ? `<span class="bad">still open: ${esc(r.breakersStillOpen.join(', '))}</span>`
        : r.breakersClosedAfterMs === null
          ? '<span class="sub">none opened</span>'
          : esc(formatMs(r.breakersClosedAfterMs));
    const preferred =
      r.preferredServingAfterMs === null
        ? '<span class="bad">never</span>'
        : esc(formatMs(r.preferredServingAfterMs));
    return `<tr><td>${esc(r.faults.join(', '))}</td><td>${esc(formatClock(r.fromMs))}–${esc(formatClock(r.toMs))}</td><td>${success}</td><td>${breakers}</td><td>${preferred}</td></tr>`;
  });
  return `<section id="recovery">
<h2>Recovery</h2>
<p class="sub">Measured from the end of each fault window. Success rate: in ${esc(formatMs(10_000))} buckets, at or above ${esc(formatPercent(RECOVERY_THRESHOLD, 0))} from then on.</p>
<div class="table-wrap"><table><thead><tr><th>Fault</th><th>Window</th><th>Success rate back</th><th>Breakers closed</th><th>Preferred deployment serving</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
</section>`;
}

const FLOW_LABEL: Record<FlowKind, string> = {
  first: 'first try',
  skipped: 'skipped',
  retry: 'retry',
  fallback: 'fallback',
  hedge: 'hedge',
  answered: 'answered',
  failed: 'failed',
};

function nodeLabel(node: string): string {
  if (node === REQUEST_NODE) return 'request';
  if (node === ANSWERED_NODE) return '✓ answered';
  if (node === FAILED_NODE) return '✗ failed';
  return node;
}

function flowSection(journal: RunJournal): string {
  const spend = { spendObservable: spendObservable(journal) };
  const edges = flowEdges(journal);
  const max = Math.max(1, ...edges.map((e) => e.count));
  const rows = edges.map((e) => {
    const width = ((e.count / max) * 100).toFixed(1);
    return `<tr><td><code>${esc(nodeLabel(e.from))}</code></td><td class="arrow">→</td><td><code>${esc(nodeLabel(e.to))}</code></td><td><span class="flow flow-${e.kind}">${esc(FLOW_LABEL[e.kind])}</span></td><td>${esc(e.reason)}</td><td class="num">${e.count}</td><td class="bar-cell"><span class="bar bar-${e.kind}" style="width:${width}%"></span></td></tr>`;
  });
  const deployments = deploymentStats(journal).map((d) => {
    const kinds = Object.entries(d.errorKinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ');
    return `<tr><td><code>${esc(d.deployment)}</code></td><td class="num">${d.attempts}</td><td class="num">${d.successes}</td><td class="num">${d.errors}</td><td>${esc(kinds || '—')}</td><td class="num">${d.aborted}</td><td class="num">${d.hedges}</td><td class="num">${d.probes}</td><td class="num">${d.answered}</td><td class="num">${esc(formatSpend(spend, d.costUsd))}</td></tr>`;
  });
  return `<section id="flow">
<h2>Attempt and fallback flow</h2>
<p class="sub">Every step requests took between deployments, counted over the run; the reason is the error that moved a request on.</p>
<div class="table-wrap"><table class="flow-table"><thead><tr><th>From</th><th></th><th>To</th><th>Step</th><th>Reason</th><th class="num">Requests</th><th class="bar-head"></th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
<h3>Deployments</h3>
<div class="table-wrap"><table><thead><tr><th>Deployment</th><th class="num">Attempts</th><th class="num">Succeeded</th><th class="num">Errors</th><th>Error kinds</th><th class="num">Aborted</th><th class="num">Hedges</th><th class="num">Probes</th><th class="num">Answered</th><th class="num">Spend</th></tr></thead><tbody>
${deployments.join('\n')}
</tbody></table></div>
</section>`;
}

function faultsSection(journal: RunJournal): string {
  if (journal.faultWindows.length === 0) return '';
  const rows = journal.faultWindows.map((w) => {
    const injected = journal.faultCounters.injected[w.ruleId] ?? journal.faultCounters.injected[w.fault];
    return `<tr><td><code>${esc(w.ruleId)}</code></td><td>${esc(w.fault)}</td><td><code>${esc(w.target)}</code></td><td>${esc(formatClock(w.fromMs))}–${esc(formatClock(w.toMs))}</td><td class="num">${injected ?? '—'}</td></tr>`;
  });
  return `<section id="faults">
<h2>Faults injected</h2>
<div class="table-wrap"><table><thead><tr><th>Rule</th><th>Fault</th><th>Target</th><th>Window</th><th class="num">Injected</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
</section>`;
}

function footer(journal: RunJournal): string {
  const sdks = Object.entries(journal.versions.sdks)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `<footer><div class="wrap sub">Switchyard ${esc(journal.versions.switchyard)} · Node ${esc(journal.versions.node)}${sdks ? ` · ${esc(sdks)}` : ''} · run ${esc(journal.runId)} · seed ${esc(journal.scenario.seed)}</div></footer>`;
}

// ---------------------------------------------------------------------------------------------
// Chart data: numbers only, plus labels the page draws as canvas text

export interface ChartData {
  durationS: number;
  bucketS: number;
  x: number[];
  latency: { p50: Array<number | null>; p95: Array<number | null>; p99: Array<number | null> };
  ttft: { p50: Array<number | null>; p95: Array<number | null>; p99: Array<number | null> };
  rates: { success: Array<number | null>; failure: Array<number | null>; fallback: Array<number | null> };
  cost: { perSuccess: Array<number | null>; wasted: number[] };
  faults: Array<{ from: number; to: number; label: string }>;
  breakers: Array<{ name: string; segments: Array<[number, number, string]> }>;
}

export function chartData(journal: RunJournal): ChartData {
  const buckets = timeBuckets(journal);
  const bucketMs = buckets.length > 1 ? buckets[1]!.startMs - buckets[0]!.startMs : runSpanMs(journal);
  const share = (n: number, of: number) => (of ? (n / of) * 100 : null);
  return {
    durationS: runSpanMs(journal) / 1_000,
    bucketS: bucketMs / 1_000,
    // Each bucket is plotted at its middle.
    x: buckets.map((b) => (b.startMs + bucketMs / 2) / 1_000),
    latency: {
      p50: buckets.map((b) => b.latency.p50),
      p95: buckets.map((b) => b.latency.p95),
      p99: buckets.map((b) => b.latency.p99),
    },
    ttft: {
      p50: buckets.map((b) => b.ttft.p50),
      p95: buckets.map((b) => b.ttft.p95),
      p99: buckets.map((b) => b.ttft.p99),
    },
    rates: {
      success: buckets.map((b) => share(b.successes, b.requests)),
      failure: buckets.map((b) => share(b.failures, b.requests)),
      fallback: buckets.map((b) => share(b.fallbacks, b.requests)),
    },
    cost: {
      perSuccess: buckets.map((b) => (b.successes ? b.costUsd / b.successes : null)),
      wasted: buckets.map((b) => b.wastedUsd),
    },
    faults: mergedFaultWindows(journal.faultWindows).map((w) => ({
      from: w.fromMs / 1_000,
      to: w.toMs / 1_000,
      label: w.faults.join(', '),
    })),
    breakers: breakerLanes(journal).map((lane) => ({
      name: lane.deployment,
      segments: lane.segments.map((s): [number, number, string] => [
        s.fromMs / 1_000,
        s.toMs / 1_000,
        s.state,
      ]),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Styles: light by default, dark under prefers-color-scheme; the charts read the same variables.

const PAGE_CSS = `
:root {
  --bg: #f7f8fa; --panel: #ffffff; --fg: #1b1f24; --fg-muted: #57606a; --border: #d8dee4; --grid: rgba(31,35,40,0.09);
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff8c5;
  --incomplete: #9a6700; --incomplete-bg: #fff8c5;
  --fault-shade: rgba(207,34,46,0.10); --fault-text: rgba(160,20,30,0.85);
  --c-p50: #2f6fde; --c-p95: #8250df; --c-p99: #bf3989;
  --c-success: #1a7f37; --c-failure: #cf222e; --c-fallback: #bc4c00;
  --c-cost: #2f6fde; --c-wasted: #d4a72c; --c-wasted-fill: rgba(212,167,44,0.45);
  --c-closed: #2da44e; --c-open: #cf222e; --c-half-open: #d4a72c; --c-other: #8c959f;
  --code-bg: rgba(175,184,193,0.2);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --fg: #e6edf3; --fg-muted: #9198a1; --border: #30363d; --grid: rgba(240,246,252,0.10);
    --pass: #3fb950; --pass-bg: rgba(46,160,67,0.15); --fail: #f85149; --fail-bg: rgba(248,81,73,0.15);
    --warn: #d29922; --warn-bg: rgba(187,128,9,0.15); --incomplete: #d29922; --incomplete-bg: rgba(187,128,9,0.15);
    --fault-shade: rgba(248,81,73,0.13); --fault-text: rgba(255,160,150,0.9);
    --c-p50: #58a6ff; --c-p95: #bc8cff; --c-p99: #ff7bd0;
    --c-success: #3fb950; --c-failure: #f85149; --c-fallback: #ff9b4a;
    --c-cost: #58a6ff; --c-wasted: #e3b341; --c-wasted-fill: rgba(227,179,65,0.4);
    --c-closed: #2ea043; --c-open: #f85149; --c-half-open: #e3b341; --c-other: #6e7681;
    --code-bg: rgba(110,118,129,0.25);
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap, main { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
main { padding-bottom: 32px; }
h1 { font-size: 24px; margin: 0; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 6px; border-bottom: 1px solid var(--border); }
h3 { font-size: 15px; margin: 16px 0 4px; overflow-wrap: anywhere; }
code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code-bg); padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
.sub { color: var(--fg-muted); margin: 2px 0; font-size: 13px; }
.empty { color: var(--fg-muted); font-style: italic; }
header.verdict { border-bottom: 1px solid var(--border); padding: 20px 0 16px; background: var(--panel); border-top: 6px solid var(--fg-muted); }
header.verdict-passed { border-top-color: var(--pass); }
header.verdict-failed { border-top-color: var(--fail); }
header.verdict-incomplete { border-top-color: var(--incomplete); }
.eyebrow { margin: 0 0 6px; text-transform: uppercase; letter-spacing: 0.06em; font-size: 11px; color: var(--fg-muted); }
.verdict-line { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
.badge { font-weight: 700; font-size: 15px; padding: 4px 12px; border-radius: 999px; white-space: nowrap; }
.badge-passed { color: var(--pass); background: var(--pass-bg); }
.badge-failed { color: var(--fail); background: var(--fail-bg); }
.badge-incomplete { color: var(--incomplete); background: var(--incomplete-bg); }
.description { margin: 8px 0 4px; max-width: 80ch; overflow-wrap: anywhere; }
.verdict-detail { margin: 4px 0 10px; font-weight: 600; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; font-size: 12.5px; }
.meta div { display: flex; gap: 6px; }
.meta dt { color: var(--fg-muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-top: 20px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px 14px; }
.card-label { font-size: 12px; color: var(--fg-muted); }
.card-value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card-note { font-size: 12px; color: var(--fg-muted); }
.card-warn .card-value { color: var(--warn); }
.card-bad .card-value { color: var(--fail); }
.table-wrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; }
/* Scoped to our tables: uPlot's legend is a table too. */
.table-wrap table { border-collapse: collapse; width: 100%; font-size: 13px; }
.table-wrap th, .table-wrap td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
.table-wrap tbody tr:last-child td { border-bottom: none; }
.table-wrap th { font-weight: 600; color: var(--fg-muted); font-size: 12px; background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.row-fail { background: var(--fail-bg); }
.pill { font-weight: 600; font-size: 12px; padding: 1px 8px; border-radius: 999px; white-space: nowrap; }
.pill-pass { color: var(--pass); background: var(--pass-bg); }
.pill-fail { color: var(--fail); background: var(--panel); border: 1px solid var(--fail); }
.pill-unsure { color: var(--warn); background: var(--warn-bg); border: 1px dashed var(--warn); }
.row-unsure { background: var(--warn-bg); }
.phase { font-size: 12px; padding: 1px 6px; border-radius: 4px; background: var(--code-bg); }
.ok { color: var(--pass); font-weight: 600; }
.bad { color: var(--fail); font-weight: 600; }
article.failure { border-left: 4px solid var(--fail); padding: 2px 0 8px 14px; margin: 12px 0 18px; }
.expect { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0 10px; }
.expect div { display: contents; }
.expect dt { color: var(--fg-muted); }
.expect dd { margin: 0; font-weight: 600; }
table.examples td:nth-child(-n+4) { white-space: nowrap; }
code.path { background: none; padding: 0; }
.chart-figure { margin: 16px 0 0; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px 14px 8px; }
.chart-figure figcaption h3 { margin: 0; }
.chart { width: 100%; min-height: 80px; margin-top: 6px; }
.chart .u-legend { font-size: 12px; color: var(--fg); }
.legend { font-size: 12px; color: var(--fg-muted); margin: 6px 0 0; display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; margin-left: 6px; }
.swatch-fault { background: var(--fault-shade); border: 1px solid var(--fail); }
.swatch-closed { background: var(--c-closed); }
.swatch-open { background: var(--c-open); }
.swatch-half { background: var(--c-half-open); }
.arrow { color: var(--fg-muted); padding-left: 0; padding-right: 0; }
.flow { font-size: 12px; padding: 1px 6px; border-radius: 4px; background: var(--code-bg); white-space: nowrap; }
.flow-fallback, .flow-failed { color: var(--fail); }
.flow-answered { color: var(--pass); }
.flow-retry, .flow-hedge, .flow-skipped { color: var(--warn); }
.bar-cell { width: 30%; min-width: 120px; }
.bar { display: block; height: 12px; border-radius: 3px; background: var(--c-p50); min-width: 2px; margin-top: 3px; }
.bar-answered { background: var(--c-success); }
.bar-failed, .bar-fallback { background: var(--c-failure); }
.bar-retry, .bar-hedge, .bar-skipped { background: var(--c-half-open); }
footer { border-top: 1px solid var(--border); padding: 14px 0 24px; }
@media print { .chart-figure, .table-wrap, article.failure { break-inside: avoid; } }
`;

// ---------------------------------------------------------------------------------------------
// index.html over several runs

/** An index page linking each scenario's report (`<baseName>.html`); static, no script. */
export function renderIndexHtml(journals: readonly RunJournal[], baseNames: readonly string[]): string {
  const verdicts = journals.map(verdictOf);
  const overall = verdicts.includes('incomplete')
    ? 'incomplete'
    : verdicts.includes('failed')
      ? 'failed'
      : 'passed';
  const passed = verdicts.filter((v) => v === 'passed').length;
  const rows = journals.map((j, i) => {
    const s = summarize(j);
    const v = verdicts[i]!;
    const base = baseNames[i]!;
    const files = [
      ['report', `${base}.html`],
      ['markdown', `${base}.md`],
      ['junit', `${base}.junit.xml`],
      ['journal', `${base}.journal.json`],
    ]
      .map(([label, href]) => `<a href="${esc(encodeURI(href!))}">${esc(label)}</a>`)
      .join(' · ');
    return `<tr class="${v === 'passed' ? '' : 'row-fail'}"><td><span class="badge badge-${v}">${VERDICT_ICON[v]} ${VERDICT_TEXT[v]}</span></td><td><a href="${esc(encodeURI(`${base}.html`))}"><strong>${esc(j.scenario.name)}</strong></a><div class="sub">${esc(j.scenario.description)}</div></td><td class="num">${v === 'incomplete' ? 'not evaluated' : `${s.hypotheses.passed}/${s.hypotheses.total}${s.hypotheses.inconclusive ? ` (${s.hypotheses.inconclusive} ?)` : ''}`}</td><td class="num">${s.requests}</td><td class="num">${esc(formatPercent(s.successRate))}</td><td class="num">${esc(formatMs(s.latency.p95))}</td><td class="num">${esc(formatSpend(s, s.costUsd))}</td><td>${files}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Switchyard — ${passed} of ${journals.length} scenarios passed</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header class="verdict verdict-${overall}">
<div class="wrap">
<p class="eyebrow">Switchyard resilience reports</p>
<div class="verdict-line"><span class="badge badge-${overall}">${VERDICT_ICON[overall]} ${VERDICT_TEXT[overall]}</span>
<h1>${passed} of ${journals.length} scenario${journals.length === 1 ? '' : 's'} passed</h1></div>
</div>
</header>
<main>
<h2>Scenarios</h2>
<div class="table-wrap"><table><thead><tr><th>Verdict</th><th>Scenario</th><th class="num">Hypotheses</th><th class="num">Requests</th><th class="num">Success</th><th class="num">p95</th><th class="num">Cost</th><th>Files</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
</main>
</body>
</html>
`;
}
