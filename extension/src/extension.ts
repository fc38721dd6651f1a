/**
 * Switchyard for VS Code: compare one prompt across models side by side (with the fallback path of
 * every column), and run chaos scenarios as tests. Everything works with no key against the built-in
 * simulator; keys live in SecretStorage only.
 */
import * as vscode from 'vscode';
import { type ComparePromptArgs, PROMPT_SELECTOR, PromptLensProvider } from './compare/codelens.ts';
import {
  COMPARE_VIEW_TYPE,
  CompareController,
  type CompareController as CompareControllerType,
} from './compare/controller.ts';
import { KEYED_PROVIDERS, type KeyedProvider, Keys } from './config.ts';
import { ProvidersTree } from './providers.ts';
import { REPORT_VIEW_TYPE, ReportPanel } from './reportPanel.ts';
import { ScenarioTests } from './scenarios/testing.ts';
import { formatUsd } from './shared/format.ts';
import { isPromptFileName, parsePromptFile } from './shared/promptFile.ts';
import { type ChaosProfile, isChaosProfile, type PromptInfo, type RunState } from './shared/protocol.ts';

/** What activate() returns: used by the integration tests (and by other extensions, read-only). */
export interface SwitchyardApi {
  compare: CompareControllerType;
  scenarios: ScenarioTests;
  lenses: PromptLensProvider;
  reports: ReportPanel;
  hasKey(provider: KeyedProvider): Promise<boolean>;
}

interface CompareArgs extends Partial<ComparePromptArgs> {
  text?: string;
  title?: string;
  models?: string[];
  chaos?: ChaosProfile;
  reveal?: boolean;
}

export function activate(context: vscode.ExtensionContext): SwitchyardApi {
  const log = vscode.window.createOutputChannel('Switchyard', { log: true });
  const keys = new Keys(context.secrets);
  const compare = new CompareController(context, log, keys);
  const lenses = new PromptLensProvider();
  const providers = new ProvidersTree(keys);
  const reports = new ReportPanel(context.extensionUri, log);
  const scenarios = new ScenarioTests(
    context,
    log,
    (path) => reports.show(path),
    async () => {
      // Router configs name their keys by environment variable; SecretStorage fills the usual names.
      const stored = await keys.all();
      return {
        ...process.env,
        ...(stored.openai ? { OPENAI_API_KEY: stored.openai } : {}),
        ...(stored.anthropic ? { ANTHROPIC_API_KEY: stored.anthropic } : {}),
      };
    },
  );
  void scenarios.discover();

  const status = vscode.window.createStatusBarItem('switchyard.spend', vscode.StatusBarAlignment.Right, 100);
  status.name = 'Switchyard spend';
  status.command = 'switchyard.showCompare';
  const renderStatus = () => {
    status.text = `$(pulse) ${formatUsd(compare.sessionSpendUsd)}`;
    status.tooltip = new vscode.MarkdownString(
      `**Switchyard** — spent this session on comparisons: ${formatUsd(compare.sessionSpendUsd)}\n\n` +
        'Simulated columns are priced as the real call would be. Click to show the compare panel.',
    );
  };
  renderStatus();
  status.show();

  compare.onDidChangeSpend(renderStatus);
  compare.onDidFinishRun((run) => lenses.record(run));
  keys.onDidChange(() => providers.refresh());

  context.subscriptions.push(
    log,
    keys,
    compare,
    lenses,
    providers,
    reports,
    scenarios,
    status,
    vscode.languages.registerCodeLensProvider(PROMPT_SELECTOR, lenses),
    vscode.window.createTreeView('switchyard.providers', {
      treeDataProvider: providers,
      showCollapseAll: false,
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state) {
        compare.attach(panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, {
      async deserializeWebviewPanel(panel) {
        const latest = scenarios.latestReport;
        if (latest) await reports.show(latest, panel);
        else panel.dispose();
      },
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('switchyard')) providers.refresh();
    }),

    vscode.commands.registerCommand('switchyard.compare', (args?: CompareArgs) =>
      runCompare(compare, log, args),
    ),
    vscode.commands.registerCommand('switchyard.showCompare', () => compare.reveal()),
    vscode.commands.registerCommand('switchyard.cancelCompare', () => compare.cancel()),
    vscode.commands.registerCommand('switchyard.exportCompare', (format?: 'markdown' | 'json') =>
      compare.export(format === 'json' ? 'json' : 'markdown'),
    ),
    vscode.commands.registerCommand(
      'switchyard.setApiKey',
      async (provider?: KeyedProvider, value?: string) => {
        const which = provider ?? (await pickProvider('Set the API key of'));
        if (!which) return;
        const key =
          value ??
          (await vscode.window.showInputBox({
            title: `Switchyard: API key for ${which}`,
            prompt: 'Stored in VS Code SecretStorage (never in settings). Leave empty to cancel.',
            password: true,
            ignoreFocusOut: true,
          }));
        if (!key) return;
        await keys.set(which, key.trim());
        log.info(`API key for ${which} set (stored in SecretStorage)`);
        providers.refresh();
        void vscode.window.setStatusBarMessage(`Switchyard: ${which} is now live`, 3000);
      },
    ),
    vscode.commands.registerCommand(
      'switchyard.clearApiKey',
      async (provider?: KeyedProvider | { provider?: string }) => {
        const given = typeof provider === 'string' ? provider : undefined;
        const which = given ?? (await pickProvider('Clear the API key of'));
        if (!which) return;
        await keys.clear(which);
        log.info(`API key for ${which} cleared: its columns are simulated`);
        providers.refresh();
      },
    ),
    vscode.commands.registerCommand('switchyard.refreshProviders', () => providers.refresh()),
    vscode.commands.registerCommand('switchyard.showLog', () => log.show()),
    vscode.commands.registerCommand('switchyard.openLatestReport', async () => {
      const latest = scenarios.latestReport;
      if (!latest) {
        void vscode.window.showInformationMessage(
          'Switchyard: no scenario report yet. Run a scenario from the Testing view first.',
        );
        return;
      }
      await reports.show(latest);
    }),
    vscode.commands.registerCommand('switchyard.newPromptFile', async () => {
      const doc = await vscode.workspace.openTextDocument({
        language: 'markdown',
        content: SAMPLE_PROMPT_FILE,
      });
      await vscode.window.showTextDocument(doc);
    }),
  );
  log.info('Switchyard activated');
  return { compare, scenarios, lenses, reports, hasKey: (p) => keys.has(p) };
}

export function deactivate(): void {}

async function pickProvider(title: string): Promise<KeyedProvider | undefined> {
  const pick = await vscode.window.showQuickPick(
    KEYED_PROVIDERS.map((p) => ({ label: p })),
    { title: `Switchyard: ${title}…`, placeHolder: 'Provider' },
  );
  return pick?.label;
}

/** The compare command: a prompt-file prompt (CodeLens), the selection, the prompt under the cursor, or an input box. */
async function runCompare(
  compare: CompareController,
  log: vscode.LogOutputChannel,
  args: CompareArgs = {},
): Promise<RunState | undefined> {
  let prompt: PromptInfo | undefined;
  let models = args.models;
  let chaos = args.chaos && isChaosProfile(args.chaos) ? args.chaos : undefined;

  const fromFile = async (uri: vscode.Uri, pick: (prompts: ReturnType<typeof parsePromptFile>) => number) => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const file = parsePromptFile(doc.getText(), doc.fileName);
    const index = pick(file);
    const entry = file.prompts[index];
    if (!entry) {
      void vscode.window.showErrorMessage(
        `Switchyard: ${file.issues[0]?.message ?? 'no prompt in this file'} (${vscode.workspace.asRelativePath(uri)})`,
      );
      return;
    }
    models ??= file.meta.models;
    chaos ??= file.meta.chaos;
    prompt = {
      title: entry.title,
      text: entry.text,
      ...(file.meta.system ? { system: file.meta.system } : {}),
      ...(file.meta.temperature !== undefined ? { temperature: file.meta.temperature } : {}),
      ...(file.meta.maxOutputTokens !== undefined ? { maxOutputTokens: file.meta.maxOutputTokens } : {}),
      source: { uri: uri.toString(), promptIndex: entry.index, line: entry.line },
    };
  };

  if (args.text) {
    prompt = { title: args.title ?? firstLine(args.text), text: args.text };
  } else if (args.uri) {
    await fromFile(vscode.Uri.parse(args.uri), () => args.promptIndex ?? 0);
  } else {
    const editor = vscode.window.activeTextEditor;
    const selected =
      editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).trim() : '';
    if (selected) {
      prompt = { title: firstLine(selected), text: selected };
    } else if (editor && isPromptFileName(editor.document.fileName)) {
      const line = editor.selection.active.line;
      await fromFile(editor.document.uri, (file) => {
        return Math.max(
          0,
          file.prompts.findLastIndex((p) => p.line <= line),
        );
      });
    } else {
      const text = await vscode.window.showInputBox({
        title: 'Switchyard: Compare Prompt Across Models',
        prompt: 'The prompt to send to every model',
        placeHolder: 'Explain circuit breakers in two sentences.',
        ignoreFocusOut: true,
      });
      if (text?.trim()) prompt = { title: firstLine(text), text: text.trim() };
    }
  }
  if (!prompt) return undefined;
  try {
    return await compare.compare(prompt, {
      ...(models ? { models } : {}),
      ...(chaos ? { chaos } : {}),
      ...(args.reveal === false ? { reveal: false } : {}),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`compare failed: ${message}`);
    void vscode.window.showErrorMessage(`Switchyard: ${message}`);
    return undefined;
  }
}

function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n/)[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

const SAMPLE_PROMPT_FILE = `---
models: [openai/gpt-4.1, anthropic/claude-sonnet-4-6, ollama/llama3.2]
temperature: 0.2
maxOutputTokens: 200
system: You answer in one short paragraph.
---
## Circuit breakers
Explain what a circuit breaker does in an LLM router, in two sentences.

## Retry storms
What is a retry storm, and how does jitter prevent it?
`;
