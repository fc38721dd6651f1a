/**
 * Prompt files (`*.prompt.md`): a "▶ Compare on N models" lens above each prompt, and after a run
 * a second lens with the last result per model. Front-matter problems become diagnostics.
 */
import * as vscode from 'vscode';
import { readSettings } from '../config.ts';
import { hintText } from '../shared/format.ts';
import { parsePromptFile } from '../shared/promptFile.ts';
import type { RunState } from '../shared/protocol.ts';

export const PROMPT_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.prompt.md' }];

export interface ComparePromptArgs {
  uri: string;
  promptIndex: number;
}

export class PromptLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.#changed.event;
  readonly #last = new Map<string, RunState>();
  readonly #diagnostics = vscode.languages.createDiagnosticCollection('switchyard-prompts');

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const file = parsePromptFile(document.getText(), document.fileName);
    this.#report(document, file.issues);
    const count = file.meta.models?.length ?? readSettings(document.uri).models.length;
    const lenses: vscode.CodeLens[] = [];
    for (const prompt of file.prompts) {
      const range = new vscode.Range(prompt.line, 0, prompt.line, 0);
      const args: ComparePromptArgs = { uri: document.uri.toString(), promptIndex: prompt.index };
      lenses.push(
        new vscode.CodeLens(range, {
          title: `▶ Compare on ${count} model${count === 1 ? '' : 's'}`,
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

  #report(document: vscode.TextDocument, issues: ReturnType<typeof parsePromptFile>['issues']): void {
    this.#diagnostics.set(
      document.uri,
      issues.map((i) => {
        const d = new vscode.Diagnostic(
          new vscode.Range(i.line, i.column, i.line, Number.MAX_SAFE_INTEGER),
          i.message,
          vscode.DiagnosticSeverity.Warning,
        );
        d.source = 'switchyard';
        return d;
      }),
    );
  }

  dispose(): void {
    this.#changed.dispose();
    this.#diagnostics.dispose();
  }
}
