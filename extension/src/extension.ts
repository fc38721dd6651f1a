/**
 * Switchyard for VS Code: compare one prompt across models side by side (with the fallback path of
 * every column), and run chaos scenarios as tests. Everything works with no key against the built-in
 * simulator; keys live in SecretStorage only.
 */
import * as vscode from 'vscode';
import { CatalogueStore } from './compare/catalogueStore.ts';
import { type ComparePromptArgs, PROMPT_SELECTOR, PromptLensProvider } from './compare/codelens.ts';
import {
  COMPARE_VIEW_TYPE,
  CompareController,
  type CompareController as CompareControllerType,
} from './compare/controller.ts';
import { SAVED_COMPARISON_SUFFIX } from './compare/savedFile.ts';
import { KEYED_PROVIDERS, type KeyedProvider, Keys, readSettings } from './config.ts';
import { ProvidersTree } from './providers.ts';
import { REPORT_VIEW_TYPE, ReportPanel } from './reportPanel.ts';
import { ScenarioTests } from './scenarios/testing.ts';
import { formatUsd } from './shared/format.ts';
import {
  isPromptFileName,
  PROMPT_FILE_SUFFIX,
  type PromptEntry,
  parsePromptFile,
  promptAtLine,
} from './shared/promptFile.ts';
import { type ChaosProfile, isChaosProfile, type PromptInfo, type RunState } from './shared/protocol.ts';

/** What activate() returns: used by the integration tests (and by other extensions, read-only). */
export interface SwitchyardApi {
  compare: CompareControllerType;
  scenarios: ScenarioTests;
  lenses: PromptLensProvider;
  reports: ReportPanel;
  catalogue: CatalogueStore;
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
  const catalogue = new CatalogueStore(keys, log);
  const compare = new CompareController(context, log, keys, catalogue);
  const lenses = new PromptLensProvider(catalogue);
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
  // Real money and simulated prices never add up into one figure: the status bar shows them apart.
  const renderStatus = () => {
    const { liveUsd, simulatedUsd } = compare.sessionSpend;
    status.text = `$(pulse) ${formatUsd(liveUsd)} live · ${formatUsd(simulatedUsd)} simulated`;
    status.tooltip = new vscode.MarkdownString(
      `**Switchyard** — comparisons this session\n\n` +
        `- live calls: **${formatUsd(liveUsd)}** (billed by the providers)\n` +
        `- simulated calls: ${formatUsd(simulatedUsd)} (what the real calls would have cost; nothing billed)\n\n` +
        'Click to show the compare panel.',
    );
  };
  renderStatus();
  status.show();

  compare.onDidChangeSpend(renderStatus);
  compare.onDidFinishRun((run) => lenses.record(run));
  keys.onDidChange(() => {
    providers.refresh();
    void catalogue.refresh();
  });

  context.subscriptions.push(
    log,
    keys,
    catalogue,
    compare,
    lenses,
    providers,
    reports,
    scenarios,
    status,
    vscode.languages.registerCodeLensProvider(PROMPT_SELECTOR, lenses),
    vscode.languages.registerCodeActionsProvider(
      [...(PROMPT_SELECTOR as vscode.DocumentFilter[]), { pattern: '**/*.{yaml,yml}' }],
      lenses,
      { providedCodeActionKinds: PromptLensProvider.fixKinds },
    ),
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
      if (['models', 'simulation', 'providers'].some((s) => e.affectsConfiguration(`switchyard.${s}`)))
        void catalogue.refresh();
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
    vscode.commands.registerCommand('switchyard.newPromptFile', (name?: string) => newPromptFile(log, name)),
    vscode.commands.registerCommand('switchyard.saveComparison', (target?: vscode.Uri) =>
      compare.save(target),
    ),
    vscode.commands.registerCommand('switchyard.openComparison', async (target?: vscode.Uri) => {
      const uri = target ?? (await pickSavedComparison());
      return uri ? compare.open(uri) : undefined;
    }),
    vscode.commands.registerCommand('switchyard.chooseModels', () => chooseModels(catalogue)),
  );
  log.info('Switchyard activated');
  return { compare, scenarios, lenses, reports, catalogue, hasKey: (p) => keys.has(p) };
}

export function deactivate(): void {}

async function pickProvider(title: string): Promise<KeyedProvider | undefined> {
  const pick = await vscode.window.showQuickPick(
    KEYED_PROVIDERS.map((p) => ({ label: p })),
    { title: `Switchyard: ${title}…`, placeHolder: 'Provider' },
  );
  return pick?.label;
}

/**
 * The compare command: a prompt-file prompt (CodeLens), the selection, the prompt whose section holds
 * the cursor in a prompt file (never another one: an empty section is said so), or an input box.
 */
async function runCompare(
  compare: CompareController,
  log: vscode.LogOutputChannel,
  args: CompareArgs = {},
): Promise<RunState | undefined> {
  let prompt: PromptInfo | undefined;
  let models = args.models;
  let chaos = args.chaos && isChaosProfile(args.chaos) ? args.chaos : undefined;

  const fromFile = async (uri: vscode.Uri, promptIndex: number | undefined, line?: number) => {
    const doc = await vscode.workspace.openTextDocument(uri);
    const file = parsePromptFile(doc.getText(), doc.fileName);
    const where = vscode.workspace.asRelativePath(uri);
    let entry: PromptEntry | undefined;
    if (promptIndex !== undefined) entry = file.prompts[promptIndex];
    else {
      const at = promptAtLine(file, line ?? 0);
      if (at.kind === 'empty') {
        void vscode.window.showWarningMessage(
          `Switchyard: the prompt "${at.title}" (${where}:${at.line + 1}) has no text under its heading. Write the prompt below it, or put the cursor in another prompt.`,
        );
        return;
      }
      if (at.kind === 'prompt') entry = at.prompt;
      else if (at.kind === 'choose') {
        const pick = await vscode.window.showQuickPick(
          file.prompts.map((p) => ({ label: p.title, description: `line ${p.line + 1}`, prompt: p })),
          {
            title: `Switchyard: which prompt of ${where}?`,
            placeHolder: 'The cursor is above the first prompt',
          },
        );
        if (!pick) return;
        entry = pick.prompt;
      }
    }
    if (!entry) {
      void vscode.window.showErrorMessage(
        `Switchyard: ${file.issues[0]?.message ?? 'no prompt in this file'} (${where})`,
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
    await fromFile(vscode.Uri.parse(args.uri), args.promptIndex ?? 0);
  } else {
    const editor = vscode.window.activeTextEditor;
    const selected =
      editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).trim() : '';
    if (selected) {
      prompt = { title: firstLine(selected), text: selected };
    } else if (editor && isPromptFileName(editor.document.fileName)) {
      await fromFile(editor.document.uri, undefined, editor.selection.active.line);
    } else {
      const text = await askForPrompt();
      if (text) prompt = { title: firstLine(text), text };
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

/** An input box that says why Enter did nothing on an empty prompt, instead of doing nothing. */
function askForPrompt(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = vscode.window.createInputBox();
    input.title = 'Switchyard: Compare Prompt Across Models';
    input.prompt = 'The prompt to send to every model (or select text, or open a prompt file, first)';
    input.placeholder = 'Explain circuit breakers in two sentences.';
    input.ignoreFocusOut = true;
    let settled = false;
    const done = (value: string | undefined) => {
      if (settled) return;
      settled = true;
      resolve(value);
      input.dispose();
    };
    input.onDidChangeValue(() => {
      input.validationMessage = undefined;
    });
    input.onDidAccept(() => {
      const text = input.value.trim();
      if (!text) {
        input.validationMessage = {
          message: 'Type a prompt first: there is nothing to compare yet.',
          severity: vscode.InputBoxValidationSeverity.Error,
        };
        return;
      }
      done(text);
    });
    input.onDidHide(() => done(undefined));
    input.show();
  });
}

function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n/)[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

/**
 * "New Prompt File": a real `*.switchyard.md` file in the workspace (prompts/ by default, the name
 * asked for), opened with the cursor on its first prompt, so its CodeLens and run button are there at
 * once. With no folder open, an untitled document with that name (saving it keeps the suffix).
 */
async function newPromptFile(log: vscode.LogOutputChannel, name?: string): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  let uri: vscode.Uri;
  if (folder) {
    const free = await freePromptName(folder);
    const relative =
      name ??
      (await vscode.window.showInputBox({
        title: 'Switchyard: New Prompt File',
        prompt: `Where to create it, relative to the workspace (the name ends in ${PROMPT_FILE_SUFFIX})`,
        value: free,
        valueSelection: [free.lastIndexOf('/') + 1, free.length - PROMPT_FILE_SUFFIX.length],
        ignoreFocusOut: true,
        validateInput: (value) => {
          if (!value.trim()) return 'Type a file name';
          if (!isPromptFileName(value.trim())) return `The name must end in ${PROMPT_FILE_SUFFIX}`;
          if (/(^|[\\/])\.\.([\\/]|$)/.test(value)) return 'Stay inside the workspace';
          return undefined;
        },
      }));
    if (!relative) return undefined;
    uri = vscode.Uri.joinPath(folder, relative.trim());
    if (await exists(uri)) {
      void vscode.window.showWarningMessage(
        `Switchyard: ${relative.trim()} exists already; opened it as it is.`,
      );
    } else {
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(uri, '..'));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(SAMPLE_PROMPT_FILE));
      log.info(`created the prompt file ${vscode.workspace.asRelativePath(uri)}`);
    }
  } else {
    uri = vscode.Uri.from({ scheme: 'untitled', path: `/${name ?? `comparison${PROMPT_FILE_SUFFIX}`}` });
  }
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc);
  if (uri.scheme === 'untitled' && doc.getText() === '')
    await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), SAMPLE_PROMPT_FILE));
  const first = parsePromptFile(doc.getText(), doc.fileName).prompts[0];
  if (first) {
    const pos = new vscode.Position(first.line + 1, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos));
  }
  return uri;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

async function freePromptName(folder: vscode.Uri): Promise<string> {
  for (let n = 1; ; n++) {
    const name = `prompts/${n === 1 ? 'comparison' : `comparison-${n}`}${PROMPT_FILE_SUFFIX}`;
    if (!(await exists(vscode.Uri.joinPath(folder, name)))) return name;
  }
}

/** The comparison file in the active editor, or one picked from the workspace's saved comparisons. */
async function pickSavedComparison(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.path.endsWith(SAVED_COMPARISON_SUFFIX)) return active;
  const files = await vscode.workspace.findFiles(`**/*${SAVED_COMPARISON_SUFFIX}`, '**/node_modules/**', 200);
  if (files.length === 0) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Switchyard: Open Saved Comparison',
      filters: { 'Switchyard comparison (*.comparison.json)': ['json'] },
      canSelectMany: false,
    });
    return picked?.[0];
  }
  const pick = await vscode.window.showQuickPick(
    files
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { title: 'Switchyard: Open Saved Comparison', placeHolder: 'A comparison saved in this workspace' },
  );
  return pick?.uri;
}

/**
 * The default models, picked from the providers' catalogues (live lists where a key is set, the
 * simulator's otherwise) instead of typed into settings JSON; written to the workspace settings.
 */
async function chooseModels(catalogue: CatalogueStore): Promise<string[] | undefined> {
  const settings = readSettings();
  const current = new Set(settings.models.map((m) => m.id));
  const { entries, notes } = await catalogue.get();
  const items = [
    ...settings.models
      .filter((m) => !entries.some((e) => e.id === m.id))
      .map((m) => ({
        label: m.id,
        description: 'from your settings',
        picked: true,
        id: m.id,
      })),
    ...entries.map((e) => ({
      label: e.id,
      description: e.source === 'live' ? 'live' : 'simulator',
      picked: current.has(e.id),
      id: e.id,
    })),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Switchyard: Choose the Models to Compare',
    placeHolder: notes[0] ?? 'One column per model; live where a key is set, simulated otherwise',
    canPickMany: true,
    matchOnDescription: true,
  });
  if (!picked || picked.length === 0) return undefined;
  const models = picked.map((p) => settings.models.find((m) => m.id === p.id) ?? fromId(p.id));
  const target = vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('switchyard').update('models', models, target);
  return models.map((m) => m.id);
}

function fromId(id: string): { id: string; provider: string; model: string } {
  const slash = id.indexOf('/');
  return { id, provider: id.slice(0, slash), model: id.slice(slash + 1) };
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
