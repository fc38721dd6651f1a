/**
 * The scenario report in a webview. The report is self-contained (uPlot inlined) and carries its own
 * Content-Security-Policy allowing exactly its scripts by hash and no network; it is shown with its
 * own colours in the VS Code theme's kind (reportHtml.ts), and shown again when the theme changes.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { reportForWebview, type ThemeKind } from './reportHtml.ts';

export function themeKind(theme: vscode.ColorTheme = vscode.window.activeColorTheme): ThemeKind {
  return theme.kind === vscode.ColorThemeKind.Light || theme.kind === vscode.ColorThemeKind.HighContrastLight
    ? 'light'
    : 'dark';
}

export const REPORT_VIEW_TYPE = 'switchyard.report';

export class ReportPanel implements vscode.Disposable {
  #panel: vscode.WebviewPanel | undefined;
  #path: string | undefined;

  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;

  readonly #themeWatch: vscode.Disposable;

  constructor(extensionUri: vscode.Uri, log: vscode.LogOutputChannel) {
    this.extensionUri = extensionUri;
    this.log = log;
    this.#themeWatch = vscode.window.onDidChangeActiveColorTheme(() => {
      if (this.#panel && this.#path) void this.show(this.#path, undefined, false);
    });
  }

  get path(): string | undefined {
    return this.#path;
  }

  async show(path: string, panel?: vscode.WebviewPanel, reveal = true): Promise<void> {
    let html: string;
    try {
      html = await readFile(path, 'utf8');
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.log.error(`cannot open report ${path}: ${why}`);
      void vscode.window.showErrorMessage(`Switchyard: cannot open the report ${path} (${why})`);
      return;
    }
    html = reportForWebview(html, themeKind());
    if (panel) {
      this.#panel?.dispose();
      this.#panel = panel;
      this.#wire(panel);
    }
    if (!this.#panel) {
      this.#panel = vscode.window.createWebviewPanel(
        REPORT_VIEW_TYPE,
        'Switchyard Report',
        vscode.ViewColumn.Active,
        {
          enableScripts: true,
          localResourceRoots: [],
        },
      );
      this.#wire(this.#panel);
    }
    this.#path = path;
    this.#panel.title = `Report: ${basename(path, '.html')}`;
    this.#panel.webview.html = html;
    if (reveal) this.#panel.reveal(undefined, false);
  }

  #wire(panel: vscode.WebviewPanel): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'switchyard.svg');
    panel.webview.options = { enableScripts: true, localResourceRoots: [] };
    panel.onDidDispose(() => {
      if (this.#panel === panel) this.#panel = undefined;
    });
  }

  dispose(): void {
    this.#themeWatch.dispose();
    this.#panel?.dispose();
  }
}
