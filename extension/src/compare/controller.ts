/**
 * The compare panel: one webview beside the editor, one column per model, answers streamed live.
 * The controller owns the run (AbortControllers per run and per column, a cancellable progress
 * notification), the panel state (the same reducer as the webview: shared/protocol.ts), the history
 * of recent runs (workspace state, with labels), saved comparison files and the session's spend.
 */
import { FAULT_IDS, FAULTS } from '@switchyard/core/faults';
import * as vscode from 'vscode';
import { type Keys, readSettings } from '../config.ts';
import {
  columnSpend,
  runToJson,
  runToMarkdown,
  type SpendSplit,
  simulatedIdsOf,
  summarizeRun,
  timelineText,
} from '../shared/format.ts';
import {
  applyHostMessage,
  type ChaosProfile,
  type ColumnParams,
  type ColumnState,
  emptyPanelState,
  type FaultChoice,
  type HostMessage,
  isWebviewMessage,
  normalizeParams,
  type PanelState,
  PROTOCOL_VERSION,
  type PromptInfo,
  pendingColumn,
  type RunState,
  type WebviewMessage,
} from '../shared/protocol.ts';
import { compareHtml } from '../webviewHtml.ts';
import type { CatalogueStore } from './catalogueStore.ts';
import { planColumns, runComparison } from './engine.ts';
import {
  parseSavedComparison,
  SAVED_COMPARISON_SUFFIX,
  SavedComparisonError,
  savedFileName,
  serializeComparison,
  upgradeStoredRun,
} from './savedFile.ts';

export const COMPARE_VIEW_TYPE = 'switchyard.compare';
const HISTORY_KEY = 'switchyard.compare.history';
const HISTORY_LIMIT = 50;

export function faultChoices(): FaultChoice[] {
  return FAULT_IDS.map((id) => ({ id, description: FAULTS[id].description, category: FAULTS[id].category }));
}

interface ActiveRun {
  runId: string;
  controller: AbortController;
  columns: Map<string, AbortController>;
  done: Promise<RunState>;
}

export interface CompareOptions {
  models?: string[];
  chaos?: ChaosProfile;
  /** Per-column parameters by column id (kept from the comparison being rerun). */
  params?: Record<string, ColumnParams | undefined>;
  /** Let other models answer a failing column (default: the panel's toggle). */
  fallback?: boolean;
  /** Show the panel (default true); integration tests may run headless. */
  reveal?: boolean;
}

export class CompareController implements vscode.Disposable {
  #panel: vscode.WebviewPanel | undefined;
  #state: PanelState;
  readonly #actives = new Set<ActiveRun>();
  readonly #spent: SpendSplit = { liveUsd: 0, simulatedUsd: 0 };
  readonly #runs = new Map<string, RunState>();
  readonly #finished = new vscode.EventEmitter<RunState>();
  readonly onDidFinishRun = this.#finished.event;
  readonly #spend = new vscode.EventEmitter<SpendSplit>();
  readonly onDidChangeSpend = this.#spend.event;
  readonly #disposables: vscode.Disposable[] = [];

  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly keys: Keys;
  readonly catalogue: CatalogueStore;

  constructor(
    context: vscode.ExtensionContext,
    log: vscode.LogOutputChannel,
    keys: Keys,
    catalogue: CatalogueStore,
  ) {
    this.context = context;
    this.log = log;
    this.keys = keys;
    this.catalogue = catalogue;
    this.#state = emptyPanelState(faultChoices(), readSettings().fallbackToOtherModels);
    for (const raw of context.workspaceState.get<unknown[]>(HISTORY_KEY, [])) {
      const run = upgradeStoredRun(raw);
      if (run) this.#runs.set(run.runId, run);
    }
    this.#state.history = [...this.#runs.values()]
      .map(summarizeRun)
      .sort((a, b) => b.startedAt - a.startedAt);
    this.#disposables.push(
      this.#finished,
      this.#spend,
      catalogue.onDidChange((c) => this.#post({ type: 'catalogue', catalogue: c })),
    );
  }

  /** What this session spent on comparisons, live and simulated apart (simulated is priced as if real). */
  get sessionSpend(): SpendSplit {
    return { ...this.#spent };
  }

  get state(): PanelState {
    return this.#state;
  }

  get panel(): vscode.WebviewPanel | undefined {
    return this.#panel;
  }

  /** Runs a comparison and resolves with its final state (commands return it, tests assert on it). */
  async compare(prompt: PromptInfo, options: CompareOptions = {}): Promise<RunState | undefined> {
    const settings = readSettings();
    const keys = await this.keys.all();
    const { columns, models, problems } = planColumns(options.models, settings, keys, options.params);
    if (problems.length > 0) void vscode.window.showWarningMessage(`Switchyard: ${problems.join('; ')}`);
    if (columns.length === 0) {
      void vscode.window.showErrorMessage('Switchyard: no model to compare on (see switchyard.models).');
      return undefined;
    }
    this.cancel();
    if (options.reveal !== false) this.#ensurePanel();
    const fallback = options.fallback ?? this.#state.fallback;
    const run: RunState = {
      runId: `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
      startedAt: Date.now(),
      prompt,
      ...(options.chaos ? { chaos: options.chaos } : {}),
      fallback,
      columns: columns.map(pendingColumn),
      finished: false,
    };
    this.#post({ type: 'run-started', run });
    const simulated = columns.filter((c) => c.simulated).map((c) => c.id);
    this.log.info(
      `compare ${run.runId} "${prompt.title}" on ${columns.map((c) => c.id).join(', ')}` +
        (simulated.length ? ` (simulated: ${simulated.join(', ')})` : '') +
        (fallback ? ', fallback on' : ', each model for itself') +
        (options.chaos ? ` with chaos ${options.chaos.fault} on ${options.chaos.provider}` : ''),
    );
    return this.#execute(run, models, undefined);
  }

  /** Reruns the current comparison (one column, or all), optionally under a fault profile. */
  async rerun(column?: string, chaos?: ChaosProfile | null): Promise<RunState | undefined> {
    const current = this.#state.current;
    if (!current) return undefined;
    if (column) {
      if (!current.columns.some((c) => c.spec.id === column)) return undefined;
      this.cancel(column);
      this.#post({ type: 'column-reset', runId: current.runId, column });
      return this.#executeColumns(this.#state.current!, [column]);
    }
    const nextChaos = chaos === null ? undefined : (chaos ?? current.chaos);
    return this.compare(current.prompt, {
      models: current.columns.map((c) => c.spec.id),
      params: Object.fromEntries(current.columns.map((c) => [c.spec.id, c.spec.params])),
      ...(nextChaos ? { chaos: nextChaos } : {}),
    });
  }

  /** Sets the panel's routing toggle: whether the next run lets other models answer a failing column. */
  setFallback(fallback: boolean): void {
    this.#post({ type: 'fallback', fallback });
  }

  /** A column's own system prompt, temperature and max tokens (kept with the comparison). */
  setParams(column: string, params: ColumnParams): void {
    const run = this.#state.current;
    if (!run?.columns.some((c) => c.spec.id === column)) return;
    this.#post({ type: 'column-params', runId: run.runId, column, params: normalizeParams(params) });
    if (run.finished) this.#remember(this.#state.current!);
  }

  /** Adds a column to the comparison shown and runs it (the others keep their answers). */
  async addModel(id: string): Promise<RunState | undefined> {
    const run = this.#state.current;
    if (!run) {
      void vscode.window.showInformationMessage('Switchyard: run a comparison first, then add models to it.');
      return undefined;
    }
    if (run.columns.some((c) => c.spec.id === id)) return run;
    const { columns, problems } = planColumns([id], readSettings(), await this.keys.all());
    const spec = columns[0];
    if (!spec) {
      void vscode.window.showErrorMessage(`Switchyard: ${problems.join('; ')}`);
      return undefined;
    }
    this.#post({ type: 'column-added', runId: run.runId, column: pendingColumn(spec) });
    return this.#executeColumns(this.#state.current!, [id]);
  }

  removeModel(column: string): void {
    const run = this.#state.current;
    if (!run?.columns.some((c) => c.spec.id === column) || run.columns.length < 2) return;
    this.cancel(column);
    this.#post({ type: 'column-removed', runId: run.runId, column });
    if (run.finished) this.#remember(this.#state.current!);
  }

  /** Names a run (history search finds it by its label). */
  label(runId: string, label: string): void {
    const trimmed = label.trim().slice(0, 200);
    this.#post({ type: 'run-labelled', runId, label: trimmed });
    const stored = this.#runs.get(runId);
    if (stored) {
      const { label: _old, ...rest } = stored;
      this.#runs.set(runId, trimmed ? { ...rest, label: trimmed } : rest);
      this.#persist();
    }
  }

  cancel(column?: string): void {
    for (const active of this.#actives) {
      if (column) active.columns.get(column)?.abort(new Error('cancelled'));
      else active.controller.abort(new Error('cancelled'));
    }
  }

  async #executeColumns(run: RunState, only: string[]): Promise<RunState> {
    const { models } = planColumns(
      run.columns.map((c) => c.spec.id),
      readSettings(),
      await this.keys.all(),
    );
    return this.#execute(run, models, only);
  }

  async #execute(run: RunState, models: ReturnType<typeof planColumns>['models'], only?: string[]) {
    const controller = new AbortController();
    const perColumn = new Map<string, AbortController>();
    for (const c of run.columns)
      if (!only || only.includes(c.spec.id)) perColumn.set(c.spec.id, new AbortController());
    const keys = await this.keys.all();
    const settings = readSettings();
    const simulatedIds = simulatedIdsOf(run);
    const work = vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Switchyard: comparing on ${perColumn.size} model${perColumn.size === 1 ? '' : 's'}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort(new Error('cancelled')));
        let finished = 0;
        await runComparison({
          columns: run.columns.map((c) => c.spec),
          models,
          ...(only ? { only } : {}),
          prompt: run.prompt,
          ...(run.chaos ? { chaos: run.chaos } : {}),
          fallback: run.fallback,
          settings,
          keys,
          signal: controller.signal,
          columnSignal: (id) => perColumn.get(id)?.signal,
          onDelta: (column, text) => this.#post({ type: 'column-delta', runId: run.runId, column, text }),
          onFinish: (column, result) => {
            finished++;
            progress.report({
              message: `${finished}/${perColumn.size} done`,
              increment: 100 / perColumn.size,
            });
            this.#post({ type: 'column-finished', runId: run.runId, column, result: stripped(result) });
            this.log.info(`  ${column}: ${timelineText(result.attempts)}`);
            const spent = columnSpend(result, simulatedIds);
            this.#spent.liveUsd += spent.liveUsd;
            this.#spent.simulatedUsd += spent.simulatedUsd;
            this.#spend.fire(this.sessionSpend);
          },
          log: (line) => this.log.debug(line),
        });
      },
    );
    const active: ActiveRun = {
      runId: run.runId,
      controller,
      columns: perColumn,
      done: Promise.resolve(run),
    };
    active.done = (async () => {
      try {
        await work;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.log.error(`compare ${run.runId} failed: ${message}`);
        void vscode.window.showErrorMessage(`Switchyard: ${message}`);
      } finally {
        this.#actives.delete(active);
      }
      const latest = this.#state.current?.runId === run.runId ? this.#state.current : run;
      this.#post({
        type: 'run-finished',
        runId: run.runId,
        summary: summarizeRun(latest),
        finishedAt: Date.now(),
      });
      const finishedRun = this.#state.current?.runId === run.runId ? this.#state.current : latest;
      this.#remember(finishedRun);
      this.#finished.fire(finishedRun);
      return finishedRun;
    })();
    this.#actives.add(active);
    return active.done;
  }

  #remember(run: RunState): void {
    this.#runs.delete(run.runId);
    this.#runs.set(run.runId, run);
    while (this.#runs.size > HISTORY_LIMIT) this.#runs.delete(this.#runs.keys().next().value!);
    const summary = summarizeRun(run);
    const history = [summary, ...this.#state.history.filter((h) => h.runId !== run.runId)].filter((h) =>
      this.#runs.has(h.runId),
    );
    this.#post({ type: 'history', history });
    this.#persist();
  }

  #persist(): void {
    void this.context.workspaceState.update(HISTORY_KEY, [...this.#runs.values()]);
  }

  #post(message: HostMessage): void {
    this.#state = applyHostMessage(this.#state, message);
    void this.#panel?.webview.postMessage(message);
  }

  #postState(): void {
    void this.#panel?.webview.postMessage({ type: 'state', state: this.#state } satisfies HostMessage);
  }

  #ensurePanel(): vscode.WebviewPanel {
    if (this.#panel) {
      if (!this.#panel.visible) this.#panel.reveal(vscode.ViewColumn.Beside, true);
      return this.#panel;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      'Switchyard Compare',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      this.#webviewOptions(),
    );
    this.attach(panel);
    return panel;
  }

  #webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview')],
    };
  }

  /** Takes over a panel: a new one, or one VS Code restores after a reload (WebviewPanelSerializer). */
  attach(panel: vscode.WebviewPanel, restored?: unknown): void {
    this.#panel?.dispose();
    this.#panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'switchyard.svg');
    panel.webview.options = this.#webviewOptions();
    if (isPanelState(restored) && !this.#state.current && restored.current) {
      // A run that was streaming when the window closed is not running any more.
      const current = upgradeStoredRun({ ...restored.current, finished: true });
      if (current)
        this.#state = { ...this.#state, current: interrupted(current), fallback: restored.fallback };
    }
    this.#state = { ...this.#state, catalogue: this.catalogue.current };
    panel.webview.html = compareHtml(panel.webview, this.context.extensionUri, this.#state);
    panel.onDidDispose(
      () => {
        if (this.#panel === panel) this.#panel = undefined;
      },
      undefined,
      this.#disposables,
    );
    panel.webview.onDidReceiveMessage((m: unknown) => this.#onMessage(m), undefined, this.#disposables);
    void this.catalogue.get();
  }

  async #onMessage(raw: unknown): Promise<void> {
    if (!isWebviewMessage(raw)) {
      this.log.warn(`ignored an unknown message from the compare webview`);
      return;
    }
    const message: WebviewMessage = raw;
    const run = this.#state.current;
    switch (message.type) {
      case 'ready':
        this.#postState();
        return;
      case 'cancel':
        this.cancel(message.column);
        return;
      case 'rerun':
        await this.rerun(message.column, message.chaos);
        return;
      case 'copy': {
        if (!run) return;
        const column = run.columns.find((c) => c.spec.id === message.column);
        await vscode.env.clipboard.writeText(column ? column.text : runToMarkdown(run));
        void vscode.window.setStatusBarMessage(
          `Switchyard: copied ${column ? column.spec.id : 'the run'}`,
          2500,
        );
        return;
      }
      case 'export':
        if (run) await this.export(message.format);
        return;
      case 'show-run': {
        const past = this.#runs.get(message.runId);
        if (past) this.#post({ type: 'state', state: { ...this.#state, current: past } });
        return;
      }
      case 'open-source': {
        const source = run?.prompt.source;
        if (!source) return;
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(source.uri));
        const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
        const pos = new vscode.Position(source.line, 0);
        editor.selection = new vscode.Selection(pos, pos);
        editor.revealRange(new vscode.Range(pos, pos));
        return;
      }
      case 'set-fallback':
        this.setFallback(message.fallback);
        return;
      case 'set-params':
        this.setParams(message.column, message.params);
        return;
      case 'add-model':
        await this.addModel(message.id);
        return;
      case 'remove-model':
        this.removeModel(message.column);
        return;
      case 'label':
        this.label(message.runId, message.label);
        return;
      case 'save':
        await this.save();
        return;
      case 'refresh-catalogue':
        await this.catalogue.refresh();
        return;
    }
  }

  /** Opens the current run as an untitled Markdown or JSON document (save it from there). */
  async export(format: 'markdown' | 'json'): Promise<vscode.TextDocument | undefined> {
    const run = this.#state.current;
    if (!run) return undefined;
    const doc = await vscode.workspace.openTextDocument({
      language: format,
      content: format === 'markdown' ? runToMarkdown(run) : runToJson(run),
    });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Active, preview: false });
    return doc;
  }

  /**
   * Saves the comparison shown as a `*.comparison.json` file (asks where, in the workspace's
   * `comparisons/` folder by default); `target` skips the dialog. Resolves with where it went.
   */
  async save(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const run = this.#state.current;
    if (!run) return undefined;
    if (!run.finished) {
      void vscode.window.showInformationMessage(
        'Switchyard: wait for the comparison to finish, then save it.',
      );
      return undefined;
    }
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        title: 'Switchyard: Save Comparison',
        saveLabel: 'Save Comparison',
        filters: { 'Switchyard comparison (*.comparison.json)': ['json'] },
        ...(await defaultSaveUri(run)),
      }));
    if (!uri) return undefined;
    const file = uri.path.endsWith(SAVED_COMPARISON_SUFFIX)
      ? uri
      : uri.with({ path: uri.path.replace(/(\.json)?$/, SAVED_COMPARISON_SUFFIX) });
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(file, '..'));
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(serializeComparison(run, new Date())));
    this.log.info(`saved comparison ${run.runId} to ${file.toString(true)}`);
    void vscode.window.setStatusBarMessage(
      `Switchyard: saved ${vscode.workspace.asRelativePath(file)}`,
      4000,
    );
    return file;
  }

  /** Opens a saved comparison in the panel (and the history); a broken file gets a located error. */
  async open(uri: vscode.Uri): Promise<RunState | undefined> {
    let run: RunState;
    try {
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      run = parseSavedComparison(text, vscode.workspace.asRelativePath(uri));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`cannot open the comparison ${uri.toString(true)}:\n${message}`);
      const first = error instanceof SavedComparisonError ? error.issues[0] : undefined;
      void vscode.window.showErrorMessage(
        `Switchyard: cannot open the comparison: ${first ? `${first.file}:${first.line}:${first.column} ${first.field ? `${first.field}: ` : ''}${first.message}` : message}`,
      );
      return undefined;
    }
    this.cancel();
    this.#ensurePanel();
    this.#remember(run);
    this.#post({ type: 'state', state: { ...this.#state, current: run } });
    this.#panel?.reveal(vscode.ViewColumn.Beside, true);
    return run;
  }

  /** Waits for the run in progress (if any). */
  async settled(): Promise<void> {
    await Promise.all([...this.#actives].map((a) => a.done));
  }

  reveal(): void {
    this.#ensurePanel().reveal(vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    this.cancel();
    this.#panel?.dispose();
    for (const d of this.#disposables) d.dispose();
  }
}

/** Traces travel to the webview whole (they hold no content and no keys); answers too. */
function stripped(result: ColumnState): ColumnState {
  return JSON.parse(JSON.stringify(result)) as ColumnState;
}

/** `comparisons/<label or title>.comparison.json` when that folder exists, else the workspace root. */
async function defaultSaveUri(run: RunState): Promise<{ defaultUri?: vscode.Uri }> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) return {};
  const comparisons = vscode.Uri.joinPath(folder, 'comparisons');
  const inFolder = await vscode.workspace.fs.stat(comparisons).then(
    (s) => s.type === vscode.FileType.Directory,
    () => false,
  );
  return { defaultUri: vscode.Uri.joinPath(inFolder ? comparisons : folder, savedFileName(run)) };
}

function interrupted(run: RunState): RunState {
  return {
    ...run,
    finished: true,
    columns: run.columns.map((c) =>
      c.status === 'pending' || c.status === 'streaming'
        ? {
            ...c,
            status: 'cancelled' as const,
            error: { deployment: c.spec.id, kind: 'cancelled', message: 'interrupted by a reload' },
          }
        : c,
    ),
  };
}

function isPanelState(value: unknown): value is PanelState {
  return !!value && typeof value === 'object' && (value as PanelState).version === PROTOCOL_VERSION;
}
