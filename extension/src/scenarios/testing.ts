/**
 * Scenarios as tests: every scenario file is a test item, every hypothesis a child at its line. Runs
 * go through @switchyard/core/scenarios (the same runner as `switchyard run`), the journal's verdicts
 * become passed/failed with TestMessage.diff (expected vs actual) at the hypothesis's line, progress is
 * streamed to the run's output, and the HTML report is written and opened afterwards.
 */
import { isAbsolute, join } from 'node:path';
import { FAULT_IDS } from '@switchyard/core/faults';
import { writeReports } from '@switchyard/core/reports';
import { loadScenario, type RunJournal, runScenario } from '@switchyard/core/scenarios';
import * as vscode from 'vscode';
import {
  crlf,
  explainUnknownFault,
  journalSummary,
  locatedIssues,
  looksLikeScenario,
  outlineScenario,
  verdicts,
} from './model.ts';

export type ItemOutcome = 'passed' | 'failed' | 'errored' | 'skipped';

export interface ScenarioRunRecord {
  scenario: string;
  profile: 'simulated' | 'live';
  outcomes: Record<string, { outcome: ItemOutcome; message?: string; expected?: string; actual?: string }>;
  report?: string;
  journal?: RunJournal;
}

const LATEST_REPORT_KEY = 'switchyard.latestReport';

export class ScenarioTests implements vscode.Disposable {
  readonly controller: vscode.TestController;
  readonly #diagnostics = vscode.languages.createDiagnosticCollection('switchyard-scenarios');
  readonly #disposables: vscode.Disposable[] = [];
  readonly #finished = new vscode.EventEmitter<ScenarioRunRecord[]>();
  readonly onDidFinishRun = this.#finished.event;
  readonly #reportOpened = new vscode.EventEmitter<string>();
  lastRun: ScenarioRunRecord[] = [];

  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly openReport: (path: string) => Promise<void>;
  /** The environment a live run resolves `apiKey: { env }` against (keys from SecretStorage). */
  readonly liveEnv: () => Promise<Record<string, string | undefined>>;

  constructor(
    context: vscode.ExtensionContext,
    log: vscode.LogOutputChannel,
    openReport: (path: string) => Promise<void>,
    liveEnv: () => Promise<Record<string, string | undefined>> = async () => ({ ...process.env }),
  ) {
    this.context = context;
    this.log = log;
    this.openReport = openReport;
    this.liveEnv = liveEnv;
    const controller = vscode.tests.createTestController('switchyard.scenarios', 'Switchyard scenarios');
    this.controller = controller;
    controller.resolveHandler = async (item) => {
      if (!item) await this.discover();
    };
    controller.refreshHandler = () => this.discover();
    controller.createRunProfile(
      'Simulated',
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token, 'simulated'),
      true,
    );
    controller.createRunProfile(
      'Live providers',
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token, 'live'),
      false,
    );

    const watcher = vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml}');
    watcher.onDidCreate((uri) => this.#refreshFile(uri));
    watcher.onDidChange((uri) => this.#refreshFile(uri));
    watcher.onDidDelete((uri) => {
      controller.items.delete(uri.toString());
      this.#diagnostics.delete(uri);
    });
    this.#disposables.push(
      controller,
      this.#diagnostics,
      this.#finished,
      this.#reportOpened,
      watcher,
      vscode.workspace.onDidOpenTextDocument((d) => this.#validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.#validate(e.document)),
      vscode.workspace.onDidSaveTextDocument((d) => this.#validateDeep(d)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('switchyard.scenarios')) void this.discover();
      }),
    );
    for (const doc of vscode.workspace.textDocuments) this.#validate(doc);
  }

  get latestReport(): string | undefined {
    return this.context.workspaceState.get<string>(LATEST_REPORT_KEY);
  }

  async discover(): Promise<void> {
    const include = vscode.workspace
      .getConfiguration('switchyard')
      .get<string>('scenarios.include', '**/scenarios/**/*.{yaml,yml}');
    const files = await vscode.workspace.findFiles(include, '**/{node_modules,.git}/**');
    const seen = new Set<string>();
    for (const uri of files) {
      if (await this.#refreshFile(uri)) seen.add(uri.toString());
    }
    this.controller.items.forEach((item) => {
      if (!seen.has(item.id)) this.controller.items.delete(item.id);
    });
  }

  /** Creates or updates the test item of one file; returns whether it is a scenario. */
  async #refreshFile(uri: vscode.Uri, text?: string): Promise<boolean> {
    let content = text;
    if (content === undefined) {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      try {
        content = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      } catch {
        return false;
      }
    }
    if (!looksLikeScenario(content)) {
      this.controller.items.delete(uri.toString());
      return false;
    }
    const result = outlineScenario(content, uri.fsPath);
    let item = this.controller.items.get(uri.toString());
    if (!item) {
      item = this.controller.createTestItem(uri.toString(), vscode.workspace.asRelativePath(uri), uri);
      this.controller.items.add(item);
    }
    item.range = new vscode.Range(0, 0, 0, 0);
    if (!result.ok) {
      item.error = new vscode.MarkdownString(
        result.issues.map((i) => `line ${i.line + 1}:${i.column + 1} ${i.message}`).join('\n\n'),
      );
      item.children.replace([]);
      return true;
    }
    item.error = undefined;
    item.label = result.outline.name;
    item.description = vscode.workspace.asRelativePath(uri);
    item.children.replace(
      result.outline.hypotheses.map((h) => {
        const child = this.controller.createTestItem(`${uri.toString()}#${h.index}`, h.label, uri);
        child.range = new vscode.Range(h.line, 0, h.line, 0);
        return child;
      }),
    );
    return true;
  }

  /** Validation inside the extension (jsonValidation does not reach YAML without Red Hat's extension). */
  #validate(document: vscode.TextDocument): void {
    if (document.languageId !== 'yaml' && !/\.ya?ml$/i.test(document.fileName)) return;
    const text = document.getText();
    if (!looksLikeScenario(text)) {
      this.#diagnostics.delete(document.uri);
      return;
    }
    const result = outlineScenario(text, document.uri.fsPath);
    this.#setDiagnostics(document.uri, result.ok ? [] : result.issues, text);
    void this.#refreshFile(document.uri, text);
  }

  /** On save: also resolve what the scenario points at (router.path, prompt files). */
  async #validateDeep(document: vscode.TextDocument): Promise<void> {
    if (!/\.ya?ml$/i.test(document.fileName) || !looksLikeScenario(document.getText())) return;
    const result = outlineScenario(document.getText(), document.uri.fsPath);
    if (!result.ok) return;
    try {
      await loadScenario(document.uri.fsPath);
      this.#setDiagnostics(document.uri, []);
    } catch (error) {
      this.#setDiagnostics(document.uri, locatedIssues(error, document.uri.fsPath), document.getText());
    }
  }

  #setDiagnostics(uri: vscode.Uri, issues: ReturnType<typeof locatedIssues>, text?: string): void {
    const diagnostics = issues.map((issue) => {
      const elsewhere = issue.file !== uri.fsPath;
      const i = !elsewhere && text !== undefined ? explainUnknownFault(issue, text, FAULT_IDS) : issue;
      const d = new vscode.Diagnostic(
        elsewhere
          ? new vscode.Range(0, 0, 0, 0)
          : new vscode.Range(i.line, i.column, i.line, i.endColumn ?? Number.MAX_SAFE_INTEGER),
        elsewhere ? `${i.file}:${i.line + 1}:${i.column + 1} ${i.message}` : i.message,
        vscode.DiagnosticSeverity.Error,
      );
      d.source = 'switchyard';
      if (i.code) d.code = i.code;
      return d;
    });
    this.#diagnostics.set(uri, diagnostics);
  }

  diagnosticsFor(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.#diagnostics.get(uri) ?? [];
  }

  async run(
    request: vscode.TestRunRequest,
    token: vscode.CancellationToken,
    profile: 'simulated' | 'live',
  ): Promise<void> {
    const run = this.controller.createTestRun(request, `Switchyard scenarios (${profile})`, true);
    const scenarios = new Map<vscode.TestItem, Set<string> | 'all'>();
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    const add = (item: vscode.TestItem) => {
      if (excluded.has(item.id)) return;
      if (item.parent) {
        const current = scenarios.get(item.parent);
        if (current === 'all') return;
        scenarios.set(item.parent, new Set([...(current ?? []), item.id]));
      } else scenarios.set(item, 'all');
    };
    if (request.include) request.include.forEach(add);
    else this.controller.items.forEach(add);
    for (const [item] of scenarios) for (const child of childrenOf(item)) run.enqueued(child);

    const records: ScenarioRunRecord[] = [];
    const controllerAbort = new AbortController();
    token.onCancellationRequested(() => controllerAbort.abort(new Error('cancelled')));
    try {
      for (const [item, wanted] of scenarios) {
        if (token.isCancellationRequested) break;
        records.push(await this.#runOne(run, item, wanted, profile, controllerAbort.signal));
      }
    } finally {
      run.end();
      this.lastRun = records;
      this.#finished.fire(records);
    }
    const report = records.findLast((r) => r.report)?.report;
    if (
      report &&
      vscode.workspace.getConfiguration('switchyard').get<boolean>('scenarios.openReportAfterRun', true)
    )
      await this.openReport(report);
  }

  async #runOne(
    run: vscode.TestRun,
    item: vscode.TestItem,
    wanted: Set<string> | 'all',
    profile: 'simulated' | 'live',
    signal: AbortSignal,
  ): Promise<ScenarioRunRecord> {
    const uri = item.uri!;
    const record: ScenarioRunRecord = { scenario: item.label, profile, outcomes: {} };
    const children = childrenOf(item).filter((c) => wanted === 'all' || wanted.has(c.id));
    const out = (text: string) => run.appendOutput(crlf(`${text}\n`), undefined, item);
    run.started(item);
    for (const c of children) run.started(c);
    const started = Date.now();
    const setAll = (outcome: ItemOutcome, message: vscode.TestMessage) => {
      for (const target of [item, ...children]) {
        if (outcome === 'errored') run.errored(target, message);
        else run.skipped(target);
        record.outcomes[target.id] = { outcome, message: String(message.message) };
      }
    };

    let scenario: Awaited<ReturnType<typeof loadScenario>>;
    try {
      scenario = await loadScenario(uri.fsPath);
    } catch (error) {
      const issues = locatedIssues(error, uri.fsPath);
      const message = new vscode.TestMessage(
        issues.map((i) => `${i.file}:${i.line + 1}:${i.column + 1} ${i.message}`).join('\n'),
      );
      const first = issues[0];
      if (first && first.file === uri.fsPath)
        message.location = new vscode.Location(uri, new vscode.Position(first.line, first.column));
      out(String(message.message));
      setAll('errored', message);
      return record;
    }

    out(
      `▶ ${scenario.name} (seed ${scenario.seed}, ${scenario.faults.length} fault rule(s), ${scenario.hypotheses.length} hypotheses)`,
    );
    let lastLine = 0;
    // Live: the router config's own providers, keys from SecretStorage, the scenario's faults on the way.
    const live = profile === 'live' ? { env: await this.liveEnv() } : undefined;
    if (live) out('  live providers: real time, keys from SecretStorage');
    const journal = await runScenario(scenario, {
      ...(live ? { live } : {}),
      signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastLine < 250) return;
        lastLine = now;
        out(
          `  t=${Math.round(p.elapsedMs / 1000)}s sent ${p.sent} finished ${p.finished} ok ${p.succeeded} failed ${p.failed}`,
        );
      },
      onError: (error) => out(`  run cut short: ${error instanceof Error ? error.message : String(error)}`),
    });
    record.journal = journal;
    out(journalSummary(journal));
    const byIndex = verdicts(journal);
    let failures = 0;
    for (const child of children) {
      const index = Number(child.id.slice(child.id.lastIndexOf('#') + 1));
      const verdict = byIndex[index];
      if (!verdict) {
        run.skipped(child);
        record.outcomes[child.id] = { outcome: 'skipped' };
        continue;
      }
      out(
        `  ${verdict.passed ? '✓' : '✗'} ${child.label}: expected ${verdict.expected}, actual ${verdict.actual}`,
      );
      if (verdict.passed) {
        run.passed(child, Date.now() - started);
        record.outcomes[child.id] = { outcome: 'passed' };
      } else {
        failures++;
        const message = vscode.TestMessage.diff(verdict.message, verdict.expected, verdict.actual);
        const line = verdict.line ?? child.range?.start.line ?? 0;
        message.location = new vscode.Location(uri, new vscode.Position(line, 0));
        run.failed(child, message, Date.now() - started);
        record.outcomes[child.id] = {
          outcome: 'failed',
          message: verdict.message,
          expected: verdict.expected,
          actual: verdict.actual,
        };
      }
    }
    if (journal.status === 'incomplete') {
      const message = new vscode.TestMessage('the run was interrupted: its journal is incomplete');
      run.errored(item, message);
      record.outcomes[item.id] = { outcome: 'errored', message: String(message.message) };
    } else if (failures > 0) {
      const message = new vscode.TestMessage(`${failures} hypothes${failures === 1 ? 'is' : 'es'} failed`);
      message.location = new vscode.Location(uri, new vscode.Position(0, 0));
      run.failed(item, message, Date.now() - started);
      record.outcomes[item.id] = { outcome: 'failed', message: String(message.message) };
    } else {
      run.passed(item, Date.now() - started);
      record.outcomes[item.id] = { outcome: 'passed' };
    }

    try {
      const { files } = await writeReports(journal, this.#reportsDir(uri));
      record.report = files.html;
      await this.context.workspaceState.update(LATEST_REPORT_KEY, files.html);
      out(`report: ${files.html}`);
      this.log.info(`scenario ${scenario.name}: ${journal.verdict}, report ${files.html}`);
    } catch (error) {
      out(`could not write the report: ${error instanceof Error ? error.message : String(error)}`);
      this.log.error(
        `report for ${scenario.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return record;
  }

  #reportsDir(scenario: vscode.Uri): string {
    const setting = vscode.workspace.getConfiguration('switchyard').get<string>('reports.directory', '');
    const folder = vscode.workspace.getWorkspaceFolder(scenario);
    if (setting) return isAbsolute(setting) || !folder ? setting : join(folder.uri.fsPath, setting);
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    return join(storage.fsPath, 'reports');
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}

function childrenOf(item: vscode.TestItem): vscode.TestItem[] {
  const out: vscode.TestItem[] = [];
  item.children.forEach((c) => {
    out.push(c);
  });
  return out;
}
