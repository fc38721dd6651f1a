/**
 * The compare panel: one webview beside the editor, one column per model, answers streamed live.
 * The controller owns the run (AbortControllers per run and per column, a cancellable progress
 * notification), the panel state (the same reducer as the webview: shared/protocol.ts), the history
 * of recent runs (workspace state) and the session's spend.
 */
import { FAULT_IDS, FAULTS } from '@switchyard/core/faults';
import * as vscode from 'vscode';
import { type Keys, readSettings } from '../config.ts';
import { runToJson, runToMarkdown, summarizeRun, timelineText } from '../shared/format.ts';
import {
  applyHostMessage,
  type ChaosProfile,
  type ColumnState,
  emptyPanelState,
  type FaultChoice,
  type HostMessage,
  isWebviewMessage,
  type PanelState,
  PROTOCOL_VERSION,
  type PromptInfo,
  type RunState,
  type WebviewMessage,
} from '../shared/protocol.ts';
import { compareHtml } from '../webviewHtml.ts';
import { planColumns, runComparison } from './engine.ts';

export const COMPARE_VIEW_TYPE = 'switchyard.compare';
const HISTORY_KEY = 'switchyard.compare.history';
const HISTORY_LIMIT = 20;

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
  /** Show the panel (default true); integration tests may run headless. */
  reveal?: boolean;
}

export class CompareController implements vscode.Disposable {
  #panel: vscode.WebviewPanel | undefined;
  #state: PanelState = emptyPanelState(faultChoices());
  readonly #actives = new Set<ActiveRun>();
  #sessionSpendUsd = 0;
  readonly #runs = new Map<string, RunState>();
  readonly #finished = new vscode.EventEmitter<RunState>();
  readonly onDidFinishRun = this.#finished.event;
  readonly #spend = new vscode.EventEmitter<number>();
  readonly onDidChangeSpend = this.#spend.event;
  readonly #disposables: vscode.Disposable[] = [];

  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly keys: Keys;

  constructor(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, keys: Keys) {
    this.context = context;
    this.log = log;
    this.keys = keys;
    for (const run of context.workspaceState.get<RunState[]>(HISTORY_KEY, [])) this.#runs.set(run.runId, run);
    this.#state.history = [...this.#runs.values()]
      .map(summarizeRun)
      .sort((a, b) => b.startedAt - a.startedAt);
    this.#disposables.push(this.#finished, this.#spend);
  }

  get sessionSpendUsd(): number {
    return this.#sessionSpendUsd;
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
    const { columns, models, problems } = planColumns(options.models, settings, keys);
    if (problems.length > 0) void vscode.window.showWarningMessage(`Switchyard: ${problems.join('; ')}`);
    if (columns.length === 0) {
      void vscode.window.showErrorMessage('Switchyard: no model to compare on (see switchyard.models).');
      return undefined;
    }
    this.cancel();
    if (options.reveal !== false) this.#ensurePanel();
    const run: RunState = {
      runId: `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
      startedAt: Date.now(),
      prompt,
      ...(options.chaos ? { chaos: options.chaos } : {}),
      columns: columns.map((spec) => ({ spec, status: 'pending', text: '', attempts: [] })),
      finished: false,
    };
    this.#post({ type: 'run-started', run });
    const simulated = columns.filter((c) => c.simulated).map((c) => c.id);
    this.log.info(
      `compare ${run.runId} "${prompt.title}" on ${columns.map((c) => c.id).join(', ')}` +
        (simulated.length ? ` (simulated: ${simulated.join(', ')})` : '') +
        (options.chaos ? ` with chaos ${options.chaos.fault} on ${options.chaos.provider}` : ''),
    );
    return this.#execute(run, models, undefined);
  }

  /** Reruns the current comparison (one column, or all), optionally under a fault profile. */
  async rerun(column?: string, chaos?: ChaosProfile | null): Promise<RunState | undefined> {
    const current = this.#state.current;
    if (!current) return undefined;
    if (column) {
      this.cancel(column);
      this.#post({ type: 'column-reset', runId: current.runId, column });
      const settings = readSettings();
      const { models } = planColumns(
        current.columns.map((c) => c.spec.id),
        settings,
        await this.keys.all(),
      );
      return this.#execute(this.#state.current!, models, [column]);
    }
    const nextChaos = chaos === null ? undefined : (chaos ?? current.chaos);
    return this.compare(current.prompt, {
      models: current.columns.map((c) => c.spec.id),
      ...(nextChaos ? { chaos: nextChaos } : {}),
    });
  }

  cancel(column?: string): void {
    for (const active of this.#actives) {
      if (column) active.columns.get(column)?.abort(new Error('cancelled'));
      else active.controller.abort(new Error('cancelled'));
    }
  }

  async #execute(run: RunState, models: ReturnType<typeof planColumns>['models'], only?: string[]) {
    const controller = new AbortController();
    const perColumn = new Map<string, AbortController>();
    for (const c of run.columns)
      if (!only || only.includes(c.spec.id)) perColumn.set(c.spec.id, new AbortController());
    const keys = await this.keys.all();
    const settings = readSettings();
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
            this.#sessionSpendUsd += result.costUsd ?? 0;
            this.#spend.fire(this.#sessionSpendUsd);
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
        this.log.error(
          `compare ${run.runId} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        void vscode.window.showErrorMessage(
          `Switchyard: ${error instanceof Error ? error.message : String(error)}`,
        );
      } finally {
        this.#actives.delete(active);
      }
      const final = this.#state.current?.runId === run.runId ? this.#state.current : run;
      const summary = summarizeRun(final);
      this.#post({ type: 'run-finished', runId: run.runId, summary });
      const finishedRun = this.#state.current?.runId === run.runId ? this.#state.current : final;
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
    void this.context.workspaceState.update(HISTORY_KEY, [...this.#runs.values()]);
  }

  #post(message: HostMessage): void {
    this.#state = applyHostMessage(this.#state, message);
    void this.#panel?.webview.postMessage(message);
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
    if (isPanelState(restored) && !this.#state.current) {
      // A run that was streaming when the window closed is not running any more.
      const current = restored.current
        ? {
            ...restored.current,
            finished: true,
            columns: restored.current.columns.map((c) =>
              c.status === 'pending' || c.status === 'streaming'
                ? { ...c, status: 'cancelled' as const, error: 'interrupted by a reload' }
                : c,
            ),
          }
        : undefined;
      this.#state = { ...this.#state, ...(current ? { current } : {}) };
    }
    panel.webview.html = compareHtml(panel.webview, this.context.extensionUri, this.#state);
    panel.onDidDispose(
      () => {
        if (this.#panel === panel) this.#panel = undefined;
      },
      undefined,
      this.#disposables,
    );
    panel.webview.onDidReceiveMessage((m: unknown) => this.#onMessage(m), undefined, this.#disposables);
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
        void this.#panel?.webview.postMessage({ type: 'state', state: this.#state } satisfies HostMessage);
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

function isPanelState(value: unknown): value is PanelState {
  return !!value && typeof value === 'object' && (value as PanelState).version === PROTOCOL_VERSION;
}
