/**
 * Prompt files (`*.switchyard.md`, and the older `*.prompt.md`): a "▶ Compare on N models" lens above
 * each prompt that counts the models that will run, after a run a second lens with the last result
 * per model, diagnostics on what cannot run as written (unknown models, mistyped faults), and quick
 * fixes that put the closest known name in its place — in prompt files and scenario files alike.
 */
import { FAULT_IDS } from '@switchyard/core/faults';
import * as vscode from 'vscode';
import { readSettings } from '../config.ts';
import { hintText } from '../shared/format.ts';
import { isPromptFileName, parsePromptFile } from '../shared/promptFile.ts';
import type { RunState } from '../shared/protocol.ts';
import type { CatalogueStore } from './catalogueStore.ts';
import {
  type CheckCode,
  checkPromptFile,
  columnCount,
  type KnownNames,
  suggestionsFor,
} from './promptChecks.ts';

export const PROMPT_SELECTOR: vscode.DocumentSelector = [
  { pattern: '**/*.switchyard.md' },
  { pattern: '**/*.prompt.md' },
];
const FIXABLE: readonly string[] = [
  'unknown-model',
  'model-not-in-catalogue',
  'unknown-fault',
] satisfies CheckCode[];

export interface ComparePromptArgs {
  uri: string;
  promptIndex: number;
}

export class PromptLensProvider
  implements vscode.CodeLensProvider, vscode.CodeActionProvider, vscode.Disposable
{
  static readonly fixKinds = [vscode.CodeActionKind.QuickFix];
  readonly #changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.#changed.event;
  readonly #last = new Map<string, RunState>();
  readonly #diagnostics = vscode.languages.createDiagnosticCollection('switchyard-prompts');
  readonly #disposables: vscode.Disposable[] = [];
  readonly catalogue: CatalogueStore;

  constructor(catalogue: CatalogueStore) {
    this.catalogue = catalogue;
    this.#disposables.push(
      this.#changed,
      this.#diagnostics,
      vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.validate(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.#diagnostics.delete(d.uri)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('switchyard.models')) this.#revalidate();
      }),
      catalogue.onDidChange((c) => {
        if (!c.loading) this.#revalidate();
      }),
    );
    this.#revalidate();
  }

  #known(scope?: vscode.Uri): KnownNames {
    return { settings: readSettings(scope), catalogue: this.catalogue.current.entries, faultIds: FAULT_IDS };
  }

  #revalidate(): void {
    for (const d of vscode.workspace.textDocuments) this.validate(d);
    this.#changed.fire();
  }

  /** Diagnostics of a prompt file: the parser's problems, then what cannot run as written. */
  validate(document: vscode.TextDocument): void {
    if (!isPromptFileName(document.fileName)) return;
    const file = parsePromptFile(document.getText(), document.fileName);
    if (file.refs.models.length > 0 || file.refs.fault) void this.catalogue.get();
    const diagnostics = file.issues.map((i) => {
      const d = new vscode.Diagnostic(
        new vscode.Range(i.line, i.column, i.line, Number.MAX_SAFE_INTEGER),
        i.message,
        vscode.DiagnosticSeverity.Warning,
      );
      d.source = 'switchyard';
      return d;
    });
    for (const check of checkPromptFile(file, this.#known(document.uri))) {
      const d = new vscode.Diagnostic(
        new vscode.Range(check.line, check.column, check.line, check.endColumn),
        check.message,
        check.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      d.source = 'switchyard';
      d.code = check.code;
      diagnostics.push(d);
    }
    this.#diagnostics.set(document.uri, diagnostics);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const file = parsePromptFile(document.getText(), document.fileName);
    const { columns, unknown } = columnCount(file, readSettings(document.uri));
    const title =
      `▶ Compare on ${columns} model${columns === 1 ? '' : 's'}` +
      (unknown > 0 ? ` (${unknown} unknown left out: see Problems)` : '');
    const lenses: vscode.CodeLens[] = [];
    for (const prompt of file.prompts) {
      const range = new vscode.Range(prompt.line, 0, prompt.line, 0);
      const args: ComparePromptArgs = { uri: document.uri.toString(), promptIndex: prompt.index };
      lenses.push(
        new vscode.CodeLens(range, {
          title,
          tooltip: `Compare "${prompt.title}" across models side by side`,
          command: 'switchyard.compare',
          arguments: [args],
        }),
      );
      const last = this.#last.get(`${document.uri.toString()}#${prompt.index}`);
      if (last)
        lenses.push(
          new vscode.CodeLens(range, {
            title: `Last: ${hintText(last)}`,
            tooltip: 'Show the last comparison of this prompt',
            command: 'switchyard.showCompare',
          }),
        );
    }
    return lenses;
  }

  /** Quick fixes: the closest known model or fault in place of the flagged one. */
  provideCodeActions(
    document: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      const code = typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code;
      if (diagnostic.source !== 'switchyard' || !FIXABLE.includes(String(code))) continue;
      const value = document.getText(diagnostic.range);
      suggestionsFor(code as CheckCode, value, this.#known(document.uri)).forEach((suggestion, i) => {
        const action = new vscode.CodeAction(`Replace with "${suggestion}"`, vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(document.uri, diagnostic.range, suggestion);
        action.diagnostics = [diagnostic];
        action.isPreferred = i === 0;
        actions.push(action);
      });
    }
    return actions;
  }

  /** Remembers a finished run as the hint of the prompt it came from. */
  record(run: RunState): void {
    const source = run.prompt.source;
    if (!source) return;
    this.#last.set(`${source.uri}#${source.promptIndex}`, run);
    this.#changed.fire();
  }

  lastHint(uri: string, promptIndex: number): string | undefined {
    const run = this.#last.get(`${uri}#${promptIndex}`);
    return run ? hintText(run) : undefined;
  }

  diagnosticsFor(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.#diagnostics.get(uri) ?? [];
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}
