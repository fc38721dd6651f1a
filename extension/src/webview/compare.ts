/**
 * The compare webview app (bundled for the browser). It renders the panel state, applies the host's
 * messages with the shared reducer, and posts typed messages back. Text goes in as text nodes; the
 * only markup from data is an answer's Markdown, sanitised to a DOM fragment (markdown.ts).
 */
import { diffWords } from 'diff';
import {
  answeredItself,
  errorLabel,
  formatMs,
  formatTokens,
  formatUsd,
  markColumns,
  matchesSearch,
  modeLabel,
  runTotals,
  timeline,
} from '../shared/format.ts';
import {
  applyHostMessage,
  type ChaosProfile,
  type ColumnParams,
  type ColumnState,
  type HostMessage,
  type PanelState,
  PROVIDER_NAMES,
  type RunState,
  type WebviewMessage,
} from '../shared/protocol.ts';
import { renderMarkdown } from './markdown.ts';

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
/** Columns the user folded to a narrow strip (this panel only). */
const collapsed = new Set<string>();

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

function button(label: string, id: string, onClick: () => void, tip?: string): HTMLButtonElement {
  // A symbol-only button (↻, ■, ×) is named by its tip; a worded one by its words (axe: label-content-name-mismatch).
  const symbolOnly = !/\p{L}/u.test(label);
  const b = h(
    'button',
    { id, type: 'button', title: tip, 'aria-label': symbolOnly ? tip : undefined },
    label,
  );
  b.addEventListener('click', onClick);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Toolbar (built once, updated by render)

const title = h('button', { class: 'link title', id: 'prompt-title', title: 'Go to the prompt' });
const runInfo = h('span', { class: 'run-info', id: 'run-info' });
const chaosBadge = h('span', { class: 'badge chaos', id: 'chaos-badge', hidden: true });
const routingBadge = h('span', { class: 'badge routing', id: 'routing-badge', hidden: true });
const labelInput = h('input', {
  id: 'run-label',
  type: 'text',
  placeholder: 'Label this run',
  'aria-label': 'Label of the run shown',
  maxlength: '200',
});

const historySearch = h('input', {
  id: 'history-search',
  type: 'search',
  placeholder: 'Search labels, prompts, models',
  'aria-label': 'Search the history',
});
const historyList = h('ul', { class: 'history-list', id: 'history-list' });
const historySummary = h('summary', { id: 'history-summary' });
const history = h(
  'details',
  { class: 'history', id: 'history' },
  historySummary,
  h('div', { class: 'history-panel' }, historySearch, historyList),
);

const fallbackToggle = h('input', { id: 'fallback', type: 'checkbox' });
const fallbackHint = h(
  'span',
  { class: 'hint', id: 'fallback-hint', hidden: true },
  'applies to the next run',
);

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

const modelPicker = h('select', { id: 'model-picker', 'aria-label': 'Model to add as a column' });
const catalogueNote = h('span', { class: 'hint', id: 'catalogue-note' });

const diffA = h('select', { id: 'diff-a', 'aria-label': 'First answer to compare' });
const diffB = h('select', { id: 'diff-b', 'aria-label': 'Second answer to compare' });
const diffOut = h('div', { class: 'diff-out', id: 'diff-out', 'aria-live': 'polite' });
const diffBox = h(
  'details',
  { class: 'diff', id: 'diff' },
  h('summary', {}, 'Diff two answers'),
  h('div', { class: 'row' }, diffA, h('span', { class: 'label' }, 'vs'), diffB),
  diffOut,
);

const totalsEl = h('dl', { class: 'totals', id: 'totals', 'aria-label': 'Totals of the run' });
const promptText = h('pre', { class: 'prompt-text', id: 'prompt-text' });
const promptBox = h('details', { class: 'prompt', id: 'prompt' }, h('summary', {}, 'Prompt'), promptText);
const columnsEl = h('main', { class: 'columns', id: 'columns' });
const emptyEl = h(
  'p',
  { class: 'empty', id: 'empty' },
  'Nothing compared yet. Run "Switchyard: Compare Prompt Across Models" on a selection or in a *.switchyard.md prompt file, or open a saved comparison.',
);

function chosenChaos(): ChaosProfile {
  const rate = Number(rateInput.value);
  return {
    fault: faultSelect.value,
    provider: providerSelect.value as ChaosProfile['provider'],
    rate: Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 1,
  };
}

const runButtons = {
  rerun: button('↻ Rerun all', 'rerun-all', () => post({ type: 'rerun' }), 'Run every column again'),
  cancel: button(
    '■ Cancel',
    'cancel-all',
    () => post({ type: 'cancel' }),
    'Cancel the columns still running',
  ),
  copy: button('Copy', 'copy-all', () => post({ type: 'copy' }), 'Copy the run as Markdown'),
  md: button(
    'Export Markdown',
    'export-md',
    () => post({ type: 'export', format: 'markdown' }),
    'Open the run as Markdown',
  ),
  json: button(
    'Export JSON',
    'export-json',
    () => post({ type: 'export', format: 'json' }),
    'Open the run as JSON',
  ),
  save: button(
    'Save…',
    'save',
    () => post({ type: 'save' }),
    'Save the comparison as a file in the workspace',
  ),
  chaos: button(
    '⚡ Rerun with fault',
    'chaos-run',
    () => post({ type: 'rerun', chaos: chosenChaos() }),
    'Rerun every column with this fault injected',
  ),
  clear: button(
    'Rerun without faults',
    'chaos-clear',
    () => post({ type: 'rerun', chaos: null }),
    'Rerun every column with no fault',
  ),
  add: button(
    '+ Add column',
    'add-model',
    () => {
      if (modelPicker.value) post({ type: 'add-model', id: modelPicker.value });
    },
    'Add the picked model as a column and run it',
  ),
  refresh: button(
    '↻',
    'refresh-catalogue',
    () => post({ type: 'refresh-catalogue' }),
    'Read the model catalogues again',
  ),
};

const toolbar = h(
  'header',
  { class: 'toolbar' },
  h(
    'div',
    { class: 'row' },
    title,
    runInfo,
    chaosBadge,
    routingBadge,
    h('span', { class: 'spacer' }),
    history,
  ),
  h(
    'div',
    { class: 'row actions' },
    runButtons.rerun,
    runButtons.cancel,
    runButtons.copy,
    runButtons.md,
    runButtons.json,
    runButtons.save,
    h(
      'label',
      {
        class: 'toggle',
        for: 'fallback',
        title: 'Let the other compared models answer a column whose own model fails',
      },
      fallbackToggle,
      'Fallback to other models',
    ),
    fallbackHint,
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
    runButtons.chaos,
    runButtons.clear,
  ),
  h(
    'div',
    { class: 'row models-row' },
    h('span', { class: 'label' }, 'Models'),
    modelPicker,
    runButtons.add,
    runButtons.refresh,
    catalogueNote,
  ),
  h('div', { class: 'row label-row' }, h('label', { class: 'label', for: 'run-label' }, 'Label'), labelInput),
  promptBox,
);
title.addEventListener('click', () => post({ type: 'open-source' }));
fallbackToggle.addEventListener('change', () =>
  post({ type: 'set-fallback', fallback: fallbackToggle.checked }),
);
labelInput.addEventListener('change', () => {
  const run = state.current;
  if (run) post({ type: 'label', runId: run.runId, label: labelInput.value });
});
labelInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') labelInput.blur();
});
historySearch.addEventListener('input', () => renderHistory());
diffA.addEventListener('change', () => renderDiff());
diffB.addEventListener('change', () => renderDiff());
diffBox.addEventListener('toggle', () => renderDiff());
root.append(toolbar, emptyEl, totalsEl, diffBox, columnsEl);

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

let renderedCatalogue: unknown;
function renderCatalogue(): void {
  const { catalogue } = state;
  if (renderedCatalogue === catalogue) return;
  renderedCatalogue = catalogue;
  const previous = modelPicker.value;
  const groups = PROVIDER_NAMES.flatMap((provider) => {
    const entries = catalogue.entries.filter((e) => e.provider === provider);
    if (entries.length === 0) return [];
    const source = entries.every((e) => e.source === 'live') ? 'live' : 'simulator';
    return [
      h(
        'optgroup',
        { label: `${provider} (${source})` },
        ...entries.map((e) => h('option', { value: e.id }, e.id)),
      ),
    ];
  });
  modelPicker.replaceChildren(
    h('option', { value: '' }, catalogue.loading ? 'Loading the catalogues…' : 'Pick a model…'),
    ...groups,
  );
  if (previous && catalogue.entries.some((e) => e.id === previous)) modelPicker.value = previous;
  catalogueNote.textContent = catalogue.notes.join(' · ');
}

// ---------------------------------------------------------------------------------------------
// History: labels and search

function runWhen(startedAt: number): string {
  return new Date(startedAt).toLocaleTimeString();
}

function renderHistory(): void {
  const shown = state.current?.runId;
  historySummary.textContent = state.history.length ? `History (${state.history.length})` : 'No history yet';
  const query = historySearch.value;
  const matching = state.history.filter((r) => matchesSearch(r, query));
  historyList.replaceChildren(
    ...matching.map((r) => {
      const item = h(
        'button',
        {
          type: 'button',
          class: 'history-item',
          'data-run': r.runId,
          'aria-current': r.runId === shown ? 'true' : undefined,
        },
        h('span', { class: 'history-title' }, r.label ? `${r.label} — ${r.title}` : r.title),
        h(
          'span',
          { class: 'history-facts' },
          `${runWhen(r.startedAt)} · ${r.columns} model${r.columns === 1 ? '' : 's'}${r.chaos ? ` · ⚡${r.chaos.fault}` : ''} · ${formatUsd(r.costUsd)}${r.failed ? ` · ${r.failed} failed` : ''}`,
        ),
      );
      item.addEventListener('click', () => {
        history.open = false;
        post({ type: 'show-run', runId: r.runId });
      });
      return h('li', {}, item);
    }),
  );
  if (matching.length === 0)
    historyList.append(h('li', { class: 'muted' }, state.history.length ? 'No run matches.' : 'No run yet.'));
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
      return answeredItself(c) ? 'done' : 'done by a fallback (see above)';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
  }
}

function metric(name: string, value: string | Node, cls: string): HTMLElement {
  return h('div', { class: `metric ${cls}` }, h('dt', {}, name), h('dd', { 'data-metric': cls }, value));
}

/** `anthropic/claude-sonnet-4-6` that can wrap after the slash only. */
function deploymentId(id: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const slash = id.indexOf('/');
  if (slash < 0) fragment.append(h('span', { class: 'id-part' }, id));
  else
    fragment.append(
      h('span', { class: 'id-part' }, id.slice(0, slash + 1)),
      h('span', { class: 'id-part' }, id.slice(slash + 1)),
    );
  return fragment;
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
        { class: `step ${s.ok ? 'ok' : 'err'}${s.retry ? ' retry' : ''}`, 'data-step': String(i) },
        h('span', { class: 'dep' }, `${s.retry ? '↻ ' : ''}${s.deployment}`),
        s.wait ? h('span', { class: 'wait' }, s.wait) : undefined,
        h('span', { class: 'lbl' }, s.label),
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
        a.outcome === 'success' ? '✓' : `✗ ${[a.status, a.errorKind ?? a.outcome].filter(Boolean).join(' ')}`;
      const facts = [
        formatMs(a.ms),
        a.next ? `then ${a.next}` : '',
        a.waitedMs !== undefined ? `waited ${formatMs(a.waitedMs)} (${a.delayReason ?? 'wait'})` : '',
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
  if (c.trace) details.append(h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(c.trace, null, 2)));
  return details;
}

/** The column's own system prompt, temperature and max tokens; "Apply and rerun" runs it with them. */
function paramsView(c: ColumnState, run: RunState, open: boolean): HTMLElement {
  const p = c.spec.params ?? {};
  const system = h('textarea', {
    name: 'system',
    rows: '3',
    placeholder: run.prompt.system ? `prompt's: ${run.prompt.system}` : 'none',
    'aria-label': `System prompt for ${c.spec.id}`,
  });
  system.value = p.system ?? '';
  const temperature = h('input', {
    name: 'temperature',
    type: 'number',
    min: '0',
    max: '2',
    step: '0.1',
    placeholder: run.prompt.temperature !== undefined ? String(run.prompt.temperature) : 'default',
    'aria-label': `Temperature for ${c.spec.id}`,
    value: p.temperature !== undefined ? String(p.temperature) : undefined,
  });
  const maxTokens = h('input', {
    name: 'maxOutputTokens',
    type: 'number',
    min: '1',
    step: '1',
    placeholder: run.prompt.maxOutputTokens !== undefined ? String(run.prompt.maxOutputTokens) : 'setting',
    'aria-label': `Max output tokens for ${c.spec.id}`,
    value: p.maxOutputTokens !== undefined ? String(p.maxOutputTokens) : undefined,
  });
  const problem = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const read = (): ColumnParams | undefined => {
    const t = temperature.value.trim() === '' ? undefined : Number(temperature.value);
    const m = maxTokens.value.trim() === '' ? undefined : Number(maxTokens.value);
    if (t !== undefined && !(t >= 0 && t <= 2)) return fail('Temperature goes from 0 to 2.');
    if (m !== undefined && !(Number.isInteger(m) && m >= 1))
      return fail('Max tokens is a whole number from 1.');
    problem.hidden = true;
    return {
      ...(system.value.trim() ? { system: system.value } : {}),
      ...(t !== undefined ? { temperature: t } : {}),
      ...(m !== undefined ? { maxOutputTokens: m } : {}),
    };
  };
  const fail = (message: string) => {
    problem.textContent = message;
    problem.hidden = false;
    return undefined;
  };
  const apply = h('button', { type: 'button', class: 'apply' }, 'Apply and rerun');
  apply.addEventListener('click', () => {
    const params = read();
    if (!params) return;
    post({ type: 'set-params', column: c.spec.id, params });
    post({ type: 'rerun', column: c.spec.id });
  });
  const summary = [
    p.temperature !== undefined ? `temperature ${p.temperature}` : '',
    p.maxOutputTokens !== undefined ? `max ${p.maxOutputTokens} tokens` : '',
    p.system ? 'own system prompt' : '',
  ].filter(Boolean);
  return h(
    'details',
    { class: 'params', open },
    h('summary', {}, summary.length ? `Parameters: ${summary.join(', ')}` : 'Parameters (from the prompt)'),
    h('label', {}, h('span', { class: 'label' }, 'System prompt'), system),
    h(
      'div',
      { class: 'row' },
      h('label', {}, h('span', { class: 'label' }, 'Temperature'), temperature),
      h('label', {}, h('span', { class: 'label' }, 'Max tokens'), maxTokens),
    ),
    problem,
    apply,
  );
}

function titleView(id: string): HTMLElement {
  // The id breaks only after the provider's slash, never inside a model name.
  const slash = id.indexOf('/');
  return h(
    'h2',
    { title: id },
    slash >= 0 ? h('span', { class: 'provider' }, id.slice(0, slash + 1)) : undefined,
    h('span', { class: 'model' }, slash >= 0 ? id.slice(slash + 1) : id),
  );
}

function columnView(c: ColumnState, run: RunState, marks: ReturnType<typeof markColumns>): HTMLElement {
  const id = c.spec.id;
  const badges = h('span', { class: 'badges' });
  badges.append(
    h(
      'span',
      {
        class: `badge mode ${c.spec.simulated ? 'sim' : 'live'}`,
        title: c.spec.simulated
          ? 'Answered by the built-in simulator: no network, no cost billed'
          : 'Calls the provider',
      },
      modeLabel(c.spec.simulated),
    ),
  );
  if (marks.cheapest.includes(id)) badges.append(h('span', { class: 'badge cheapest' }, 'cheapest'));
  if (marks.fastest.includes(id)) badges.append(h('span', { class: 'badge fastest' }, 'fastest'));
  if (marks.failed.includes(id)) badges.append(h('span', { class: 'badge failed' }, 'failed'));
  if (marks.fellBack.includes(id)) badges.append(h('span', { class: 'badge fellback' }, 'fallback answer'));
  const running = c.status === 'pending' || c.status === 'streaming';
  const isCollapsed = collapsed.has(id);
  const toggle = button(
    isCollapsed ? '⇥' : '⇤',
    `collapse-${id}`,
    () => {
      if (collapsed.has(id)) collapsed.delete(id);
      else collapsed.add(id);
      render();
    },
    isCollapsed ? `Expand ${id}` : `Collapse ${id}`,
  );
  toggle.setAttribute('aria-expanded', String(!isCollapsed));
  const fellBack = c.status === 'done' && !answeredItself(c);
  const section = h(
    'section',
    {
      class: `column status-${c.status}${isCollapsed ? ' collapsed' : ''}`,
      'data-column': id,
      'data-status': c.status,
      'aria-label': id,
    },
    h(
      'header',
      {},
      titleView(id),
      h(
        'div',
        { class: 'head-row' },
        badges,
        h(
          'div',
          { class: 'col-actions' },
          button('↻', `rerun-${id}`, () => post({ type: 'rerun', column: id }), `Rerun ${id}`),
          button('Copy', `copy-${id}`, () => post({ type: 'copy', column: id }), `Copy the answer of ${id}`),
          running
            ? button('■', `cancel-${id}`, () => post({ type: 'cancel', column: id }), `Cancel ${id}`)
            : undefined,
          toggle,
          run.columns.length > 1 && !running
            ? button(
                '×',
                `remove-${id}`,
                () => post({ type: 'remove-model', column: id }),
                `Remove ${id} from the comparison`,
              )
            : undefined,
        ),
      ),
    ),
    fellBack
      ? h(
          'div',
          { class: 'banner fallback', 'data-testid': 'fallback-banner', role: 'note' },
          h(
            'strong',
            {},
            'Answered by ',
            deploymentId(c.servedBy ?? ''),
            ` (${modeLabel(c.servedSimulated)})`,
          ),
          ', not by ',
          deploymentId(id),
          c.error ? `, whose own call failed: ${errorLabel(c.error)}.` : '.',
        )
      : undefined,
    c.error && c.status !== 'done'
      ? h(
          'div',
          { class: `error-box${c.status === 'cancelled' ? ' cancelled' : ''}`, 'data-testid': 'error' },
          h(
            'strong',
            { class: 'error-title' },
            c.status === 'cancelled' ? 'Cancelled' : `✗ ${errorLabel(c.error)}`,
          ),
          h('div', { class: 'error-message' }, c.error.message),
          c.error.deployment !== id ? h('div', { class: 'hint' }, `from ${c.error.deployment}`) : undefined,
        )
      : undefined,
    h('div', { class: 'state' }, statusLabel(c)),
    // A failed column with no text shows its error, not an empty answer box.
    c.status === 'failed' && !c.text ? undefined : answerView(c, running),
    h(
      'dl',
      { class: 'metrics' },
      metric('Latency', formatMs(c.latencyMs), 'latency'),
      metric('TTFT', formatMs(c.ttftMs), 'ttft'),
      metric('Tokens in/out', `${formatTokens(c.inputTokens)} / ${formatTokens(c.outputTokens)}`, 'tokens'),
      metric('Cost', formatUsd(c.costUsd), 'cost'),
      metric('Finish', c.finishReason ?? '—', 'finish'),
      metric('Served by', c.servedBy ? deploymentId(c.servedBy) : '—', 'served'),
    ),
    paramsView(c, run, false),
    h('div', { class: 'path-label' }, 'Fallback path'),
    pathView(c),
    traceView(c, false),
  );
  return section;
}

function answerView(c: ColumnState, running: boolean): HTMLElement {
  // Focusable: it scrolls, and a keyboard user must be able to scroll it.
  const el = h('div', {
    class: 'answer markdown',
    'data-testid': 'answer',
    tabindex: '0',
    role: 'region',
    'aria-label': `Answer of ${c.spec.id}`,
  });
  fillAnswer(el, c.text, running || c.status === 'failed');
  return el;
}

function fillAnswer(el: HTMLElement, text: string, quietWhenEmpty: boolean): void {
  if (text) el.replaceChildren(renderMarkdown(text));
  else el.replaceChildren(quietWhenEmpty ? '' : h('span', { class: 'muted' }, '(no text)'));
  el.dataset.rendered = text;
}

/** Streaming re-renders an answer's Markdown at most once a frame. */
const pendingAnswers = new Map<HTMLElement, string>();
function scheduleAnswer(el: HTMLElement, text: string): void {
  if (pendingAnswers.size === 0)
    requestAnimationFrame(() => {
      for (const [target, value] of pendingAnswers) fillAnswer(target, value, true);
      pendingAnswers.clear();
    });
  pendingAnswers.set(el, text);
}

/** What a column's view depends on besides its growing answer: when it changes, the column is rebuilt. */
function columnKey(c: ColumnState, run: RunState, marks: ReturnType<typeof markColumns>): string {
  return [
    c.status,
    c.attempts.length,
    marks.cheapest.join(),
    marks.fastest.join(),
    JSON.stringify(c.spec.params ?? {}),
    run.columns.length,
    collapsed.has(c.spec.id),
  ].join('|');
}

function updateColumn(
  el: HTMLElement,
  c: ColumnState,
  run: RunState,
  marks: ReturnType<typeof markColumns>,
): HTMLElement {
  const key = columnKey(c, run, marks);
  if (el.dataset.key === key) {
    // Streaming: only the answer grows.
    const answer = el.querySelector<HTMLElement>('.answer');
    if (answer && answer.dataset.rendered !== c.text) scheduleAnswer(answer, c.text);
    return el;
  }
  const open = (selector: string) => el.querySelector(selector)?.hasAttribute('open') ?? false;
  const traceOpen = open('details.trace');
  const paramsOpen = open('details.params');
  const fresh = columnView(c, run, marks);
  if (traceOpen) fresh.querySelector('details.trace')?.setAttribute('open', '');
  if (paramsOpen) fresh.querySelector('details.params')?.setAttribute('open', '');
  fresh.dataset.key = key;
  el.replaceWith(fresh);
  return fresh;
}

// ---------------------------------------------------------------------------------------------
// Totals and diff

function renderTotals(run: RunState | undefined): void {
  totalsEl.hidden = !run;
  if (!run) return;
  const t = runTotals(run);
  totalsEl.replaceChildren(
    h('dt', {}, 'Total'),
    h('dd', { 'data-total': 'cost' }, formatUsd(t.costUsd)),
    h('dt', {}, 'live'),
    h('dd', { 'data-total': 'live' }, formatUsd(t.liveUsd)),
    h('dt', {}, 'simulated'),
    h('dd', { 'data-total': 'simulated' }, formatUsd(t.simulatedUsd)),
    h('dt', {}, 'Tokens in/out'),
    h('dd', { 'data-total': 'tokens' }, `${formatTokens(t.inputTokens)} / ${formatTokens(t.outputTokens)}`),
    h('dt', {}, 'Time'),
    h(
      'dd',
      { 'data-total': 'time' },
      t.wallMs !== undefined ? `${formatMs(t.wallMs)} wall` : `${formatMs(t.slowestMs)} so far`,
    ),
  );
}

function renderDiff(): void {
  const run = state.current;
  const ids = run?.columns.map((c) => c.spec.id) ?? [];
  for (const [select, fallbackIndex] of [
    [diffA, 0],
    [diffB, 1],
  ] as const) {
    const previous = select.value;
    if (select.options.length !== ids.length || [...select.options].some((o, i) => o.value !== ids[i]))
      select.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
    select.value = ids.includes(previous) ? previous : (ids[fallbackIndex] ?? ids[0] ?? '');
  }
  diffBox.hidden = ids.length < 2;
  if (!run || !diffBox.open) return;
  const a = run.columns.find((c) => c.spec.id === diffA.value);
  const b = run.columns.find((c) => c.spec.id === diffB.value);
  if (!a || !b) return;
  const parts = diffWords(a.text, b.text);
  const added = parts.filter((p) => p.added).reduce((n, p) => n + p.count, 0);
  const removed = parts.filter((p) => p.removed).reduce((n, p) => n + p.count, 0);
  diffOut.replaceChildren(
    h(
      'p',
      { class: 'diff-legend' },
      h('del', {}, `only in ${a.spec.id}`),
      ' ',
      h('ins', {}, `only in ${b.spec.id}`),
      ` · ${removed} word${removed === 1 ? '' : 's'} removed, ${added} added`,
    ),
    h(
      'div',
      { class: 'diff-text', 'data-testid': 'diff-text', tabindex: '0' },
      ...parts.map((p) => (p.added ? h('ins', {}, p.value) : p.removed ? h('del', {}, p.value) : p.value)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------

function render(): void {
  fillFaults();
  renderCatalogue();
  const run: RunState | undefined = state.current;
  const running = !!run && !run.finished;
  emptyEl.hidden = !!run;
  promptBox.hidden = !run;
  toolbar.dataset.running = String(running);
  // Nothing to act on: the buttons say so by being disabled, rather than doing nothing.
  for (const b of [
    runButtons.rerun,
    runButtons.copy,
    runButtons.md,
    runButtons.json,
    runButtons.chaos,
    runButtons.clear,
  ])
    b.disabled = !run;
  runButtons.cancel.disabled = !running;
  runButtons.save.disabled = !run || running;
  runButtons.add.disabled = !run || running;
  labelInput.disabled = !run;
  fallbackToggle.checked = state.fallback;
  fallbackHint.hidden = !run || run.fallback === state.fallback;
  renderHistory();
  renderTotals(run);
  if (!run) {
    columnsEl.replaceChildren();
    delete columnsEl.dataset.run;
    renderedRunId = undefined;
    title.textContent = '';
    runInfo.textContent = '';
    labelInput.value = '';
    renderDiff();
    return;
  }
  title.textContent = run.prompt.title;
  title.disabled = !run.prompt.source;
  runInfo.textContent = `${run.label ? `${run.label} · ` : ''}run of ${runWhen(run.startedAt)}`;
  if (document.activeElement !== labelInput) labelInput.value = run.label ?? '';
  promptText.textContent = run.prompt.system
    ? `[system] ${run.prompt.system}\n\n${run.prompt.text}`
    : run.prompt.text;
  chaosBadge.hidden = !run.chaos;
  chaosBadge.textContent = run.chaos
    ? `⚡ ${run.chaos.fault} on ${run.chaos.provider} (rate ${run.chaos.rate})`
    : '';
  routingBadge.hidden = false;
  routingBadge.textContent = run.fallback ? 'fallback on' : 'each model answers itself';
  const marks = markColumns(run.columns);
  columnsEl.dataset.finished = String(run.finished);
  columnsEl.dataset.run = run.runId;
  const ids = run.columns.map((c) => c.spec.id).join('\n');
  if (renderedRunId !== run.runId || columnsEl.dataset.ids !== ids) {
    columnsEl.replaceChildren(
      ...run.columns.map((c) => {
        const el = columnView(c, run, marks);
        el.dataset.key = columnKey(c, run, marks);
        return el;
      }),
    );
    columnsEl.dataset.ids = ids;
    renderedRunId = run.runId;
  } else {
    run.columns.forEach((c, i) => {
      updateColumn(columnsEl.children[i] as HTMLElement, c, run, marks);
    });
  }
  renderDiff();
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
