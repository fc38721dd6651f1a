/**
 * The compare webview app (bundled for the browser). It renders the panel state, applies the host's
 * messages with the shared reducer, and posts typed messages back. No innerHTML with data: every
 * piece of text goes in as a text node.
 */
import { formatMs, formatTokens, formatUsd, markColumns, timeline } from '../shared/format.ts';
import {
  applyHostMessage,
  type ChaosProfile,
  type ColumnState,
  type HostMessage,
  type PanelState,
  type RunState,
  type WebviewMessage,
} from '../shared/protocol.ts';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app')!;
let state: PanelState = JSON.parse(root.dataset.state ?? '{}') as PanelState;
let renderedRunId: string | undefined;

type Child = Node | string | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== undefined && c !== false) el.append(c);
  return el;
}

function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

// ---------------------------------------------------------------------------------------------
// Toolbar (built once)

const title = h('button', { class: 'link title', id: 'prompt-title', title: 'Go to the prompt' });
const chaosBadge = h('span', { class: 'badge chaos', id: 'chaos-badge', hidden: true });
const faultSelect = h('select', { id: 'chaos-fault', 'aria-label': 'Fault from the catalogue' });
const providerSelect = h('select', { id: 'chaos-provider', 'aria-label': 'Provider the fault hits' });
for (const p of ['openai', 'anthropic', 'ollama', 'all']) providerSelect.append(h('option', { value: p }, p));
const rateInput = h('input', {
  id: 'chaos-rate',
  type: 'number',
  min: '0',
  max: '1',
  step: '0.1',
  value: '1',
  'aria-label': 'Share of calls hit',
});
const historySelect = h('select', { id: 'history', 'aria-label': 'Recent runs' });
const promptText = h('pre', { class: 'prompt-text', id: 'prompt-text' });
const columnsEl = h('main', { class: 'columns', id: 'columns' });
const emptyEl = h(
  'p',
  { class: 'empty', id: 'empty' },
  'Run "Switchyard: Compare Prompt Across Models" on a selection or a *.prompt.md file to compare it here.',
);

function button(label: string, id: string, onClick: () => void, tip?: string): HTMLButtonElement {
  const b = h('button', { id, type: 'button', title: tip }, label);
  b.addEventListener('click', onClick);
  return b;
}

function chosenChaos(): ChaosProfile {
  const rate = Number(rateInput.value);
  return {
    fault: faultSelect.value,
    provider: providerSelect.value as ChaosProfile['provider'],
    rate: Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 1,
  };
}

const toolbar = h(
  'header',
  { class: 'toolbar' },
  h('div', { class: 'row' }, title, chaosBadge, h('span', { class: 'spacer' }), historySelect),
  h(
    'div',
    { class: 'row actions' },
    button('↻ Rerun all', 'rerun-all', () => post({ type: 'rerun' }), 'Run every column again'),
    button('■ Cancel', 'cancel-all', () => post({ type: 'cancel' }), 'Cancel the columns still running'),
    button('Copy', 'copy-all', () => post({ type: 'copy' }), 'Copy the run as Markdown'),
    button('Export Markdown', 'export-md', () => post({ type: 'export', format: 'markdown' })),
    button('Export JSON', 'export-json', () => post({ type: 'export', format: 'json' })),
  ),
  h(
    'div',
    { class: 'row chaos-row' },
    h('span', { class: 'label' }, 'Chaos'),
    faultSelect,
    h('span', { class: 'label' }, 'on'),
    providerSelect,
    h('span', { class: 'label' }, 'rate'),
    rateInput,
    button('⚡ Rerun with fault', 'chaos-run', () => post({ type: 'rerun', chaos: chosenChaos() })),
    button('Rerun without faults', 'chaos-clear', () => post({ type: 'rerun', chaos: null })),
  ),
  h('details', { class: 'prompt', id: 'prompt' }, h('summary', {}, 'Prompt'), promptText),
);
title.addEventListener('click', () => post({ type: 'open-source' }));
historySelect.addEventListener('change', () => {
  if (historySelect.value) post({ type: 'show-run', runId: historySelect.value });
});
root.append(toolbar, emptyEl, columnsEl);

function fillFaults(): void {
  if (faultSelect.options.length > 0 || state.faults.length === 0) return;
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const f of state.faults) {
    let group = groups.get(f.category);
    if (!group) {
      group = h('optgroup', { label: f.category.replace(/_/g, ' ') });
      groups.set(f.category, group);
      faultSelect.append(group);
    }
    group.append(h('option', { value: f.id, title: f.description }, f.id));
  }
  faultSelect.value = state.faults.some((f) => f.id === 'service_unavailable')
    ? 'service_unavailable'
    : state.faults[0]!.id;
}

// ---------------------------------------------------------------------------------------------
// Columns

function statusLabel(c: ColumnState): string {
  switch (c.status) {
    case 'pending':
      return 'waiting…';
    case 'streaming':
      return 'streaming…';
    case 'done':
      return c.servedBy && c.servedBy !== c.spec.id ? `done via ${c.servedBy}` : 'done';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
  }
}

function metric(name: string, value: string, cls: string): HTMLElement {
  return h('div', { class: `metric ${cls}` }, h('dt', {}, name), h('dd', { 'data-metric': cls }, value));
}

function pathView(c: ColumnState): HTMLElement {
  const steps = timeline(c.attempts);
  const el = h('div', { class: 'path', 'data-testid': 'path' });
  if (steps.length === 0) {
    el.append(
      h(
        'span',
        { class: 'muted' },
        c.status === 'pending' || c.status === 'streaming' ? 'routing…' : '(no attempt)',
      ),
    );
    return el;
  }
  steps.forEach((s, i) => {
    if (i > 0) el.append(h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'));
    el.append(
      h(
        'span',
        { class: `step ${s.ok ? 'ok' : 'err'}` },
        s.deployment ? h('span', { class: 'dep' }, s.deployment) : undefined,
        h('span', { class: 'lbl' }, s.label),
        s.wait ? h('span', { class: 'wait' }, s.wait) : undefined,
      ),
    );
  });
  return el;
}

function traceView(c: ColumnState, open: boolean): HTMLElement {
  const details = h(
    'details',
    { class: 'trace', open },
    h('summary', {}, `Decision trace (${c.attempts.length} attempt${c.attempts.length === 1 ? '' : 's'})`),
  );
  if (c.attempts.length > 0) {
    const list = h('ol', { class: 'attempts' });
    for (const a of c.attempts) {
      const outcome =
        a.outcome === 'success' ? '✓' : `✗ ${a.status ?? ''} ${a.errorKind ?? a.outcome}`.trim();
      const facts = [
        formatMs(a.ms),
        a.next ? `then ${a.next}` : '',
        a.waitedMs ? `after ${formatMs(a.waitedMs)} (${a.delayReason ?? 'wait'})` : '',
        formatUsd(a.costUsd),
      ].filter(Boolean);
      list.append(
        h(
          'li',
          { class: a.outcome === 'success' ? 'ok' : 'err' },
          h('span', { class: 'dep' }, a.deployment + (a.hedge ? ' (hedge)' : '')),
          ' ',
          h('span', { class: 'lbl' }, outcome),
          h('div', { class: 'facts' }, facts.join(' · ')),
        ),
      );
    }
    details.append(list);
  }
  if (c.trace) details.append(h('pre', { class: 'json' }, JSON.stringify(c.trace, null, 2)));
  return details;
}

function columnView(c: ColumnState, marks: ReturnType<typeof markColumns>): HTMLElement {
  const id = c.spec.id;
  const badges = h('span', { class: 'badges' });
  if (c.spec.simulated)
    badges.append(
      h('span', { class: 'badge sim', title: 'Answered by the built-in simulator' }, 'simulated'),
    );
  if (marks.cheapest.includes(id)) badges.append(h('span', { class: 'badge cheapest' }, 'cheapest'));
  if (marks.fastest.includes(id)) badges.append(h('span', { class: 'badge fastest' }, 'fastest'));
  if (marks.failed.includes(id)) badges.append(h('span', { class: 'badge failed' }, 'failed'));
  if (c.servedBy && c.servedBy !== id) badges.append(h('span', { class: 'badge fellback' }, 'fell back'));
  const running = c.status === 'pending' || c.status === 'streaming';
  const section = h(
    'section',
    { class: `column status-${c.status}`, 'data-column': id, 'data-status': c.status },
    h(
      'header',
      {},
      h('div', { class: 'head' }, h('h2', { title: `${c.spec.provider} · ${c.spec.model}` }, id), badges),
      h(
        'div',
        { class: 'col-actions' },
        button('↻', `rerun-${id}`, () => post({ type: 'rerun', column: id }), `Rerun ${id}`),
        button('Copy', `copy-${id}`, () => post({ type: 'copy', column: id }), `Copy the answer of ${id}`),
        running
          ? button('■', `cancel-${id}`, () => post({ type: 'cancel', column: id }), `Cancel ${id}`)
          : undefined,
      ),
    ),
    h('div', { class: 'state' }, statusLabel(c)),
    h('div', { class: 'answer', 'data-testid': 'answer' }, c.text || (running ? '' : '(no text)')),
    c.error ? h('div', { class: 'error', 'data-testid': 'error' }, c.error) : undefined,
    h(
      'dl',
      { class: 'metrics' },
      metric('Latency', formatMs(c.latencyMs), 'latency'),
      metric('TTFT', formatMs(c.ttftMs), 'ttft'),
      metric('Tokens in/out', `${formatTokens(c.inputTokens)} / ${formatTokens(c.outputTokens)}`, 'tokens'),
      metric('Cost', formatUsd(c.costUsd), 'cost'),
      metric('Finish', c.finishReason ?? '—', 'finish'),
      metric('Served by', c.servedBy ?? '—', 'served'),
    ),
    h('div', { class: 'path-label' }, 'Fallback path'),
    pathView(c),
    traceView(c, false),
  );
  return section;
}

function updateColumn(el: HTMLElement, c: ColumnState, marks: ReturnType<typeof markColumns>): HTMLElement {
  const key = `${c.status}|${c.attempts.length}|${marks.cheapest.join()}|${marks.fastest.join()}`;
  if (el.dataset.key === key) {
    // Streaming: only the answer grows.
    const answer = el.querySelector<HTMLElement>('.answer');
    if (answer && answer.textContent !== c.text) answer.textContent = c.text;
    return el;
  }
  const traceOpen = el.querySelector('details.trace')?.hasAttribute('open') ?? false;
  const fresh = columnView(c, marks);
  if (traceOpen) fresh.querySelector('details.trace')?.setAttribute('open', '');
  fresh.dataset.key = key;
  el.replaceWith(fresh);
  return fresh;
}

function render(): void {
  fillFaults();
  const run: RunState | undefined = state.current;
  emptyEl.hidden = !!run;
  toolbar.dataset.running = run && !run.finished ? 'true' : 'false';
  historySelect.replaceChildren(
    h('option', { value: '' }, state.history.length ? `History (${state.history.length})` : 'No history yet'),
    ...state.history.map((r) =>
      h(
        'option',
        { value: r.runId },
        `${new Date(r.startedAt).toLocaleTimeString()} · ${r.title}${r.chaos ? ` · ⚡${r.chaos.fault}` : ''} · ${formatUsd(r.costUsd)}${r.failed ? ` · ${r.failed} failed` : ''}`,
      ),
    ),
  );
  if (!run) {
    columnsEl.replaceChildren();
    renderedRunId = undefined;
    return;
  }
  title.textContent = run.prompt.title;
  title.disabled = !run.prompt.source;
  promptText.textContent = run.prompt.system
    ? `[system] ${run.prompt.system}\n\n${run.prompt.text}`
    : run.prompt.text;
  chaosBadge.hidden = !run.chaos;
  chaosBadge.textContent = run.chaos
    ? `⚡ ${run.chaos.fault} on ${run.chaos.provider} (rate ${run.chaos.rate})`
    : '';
  const marks = markColumns(run.columns);
  columnsEl.dataset.finished = String(run.finished);
  if (renderedRunId !== run.runId || columnsEl.children.length !== run.columns.length) {
    columnsEl.replaceChildren(...run.columns.map((c) => columnView(c, marks)));
    columnsEl.style.setProperty('--columns', String(run.columns.length));
    renderedRunId = run.runId;
    return;
  }
  run.columns.forEach((c, i) => {
    const el = columnsEl.children[i] as HTMLElement;
    updateColumn(el, c, marks);
  });
}

let saveTimer: ReturnType<typeof setTimeout> | undefined;
function save(): void {
  if (saveTimer) return;
  saveTimer = setTimeout(() => {
    saveTimer = undefined;
    vscode.setState(state);
  }, 200);
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  state = applyHostMessage(state, event.data);
  render();
  save();
});

render();
post({ type: 'ready' });
