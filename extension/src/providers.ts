/** The providers view: each provider, whether it is live or simulated (and why), and its models. */
import * as vscode from 'vscode';
import { isSimulated } from './compare/engine.ts';
import { KEYED_PROVIDERS, type Keys, readSettings } from './config.ts';
import { PROVIDER_LABELS, type ProviderName } from './shared/protocol.ts';

type Node =
  | { kind: 'provider'; provider: ProviderName; simulated: boolean; hasKey: boolean; models: string[] }
  | { kind: 'model'; id: string; model: string; simulated: boolean };

export class ProvidersTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;

  readonly keys: Keys;

  constructor(keys: Keys) {
    this.keys = keys;
  }

  refresh(): void {
    this.#changed.fire(undefined);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'model') {
      const item = new vscode.TreeItem(node.id, vscode.TreeItemCollapsibleState.None);
      item.description = node.simulated ? `${node.model} · simulated` : node.model;
      item.iconPath = new vscode.ThemeIcon('symbol-misc');
      item.contextValue = 'model';
      return item;
    }
    const item = new vscode.TreeItem(
      PROVIDER_LABELS[node.provider],
      vscode.TreeItemCollapsibleState.Expanded,
    );
    const keyed = (KEYED_PROVIDERS as readonly string[]).includes(node.provider);
    item.description = node.simulated
      ? keyed && !node.hasKey
        ? 'simulated · no key'
        : 'simulated'
      : keyed
        ? 'live · key set'
        : 'live';
    item.tooltip = node.simulated
      ? 'Calls go to the built-in simulator, in-process: no network, no key, no cost.'
      : 'Calls go to the provider.';
    item.iconPath = new vscode.ThemeIcon(
      node.simulated ? 'beaker' : 'cloud',
      new vscode.ThemeColor(node.simulated ? 'charts.blue' : 'charts.green'),
    );
    item.contextValue = keyed ? (node.hasKey ? 'provider-keyed-set' : 'provider-keyed') : 'provider';
    return item;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    const settings = readSettings();
    const keys = await this.keys.all();
    if (node?.kind === 'provider')
      return settings.models
        .filter((m) => m.provider === node.provider)
        .map((m) => ({ kind: 'model', id: m.id, model: m.model, simulated: node.simulated }));
    if (node) return [];
    const providers = [
      ...new Set<ProviderName>(['openai', 'anthropic', 'ollama', ...settings.models.map((m) => m.provider)]),
    ];
    return providers.map((provider) => ({
      kind: 'provider',
      provider,
      simulated: isSimulated(provider, settings, keys),
      hasKey: !!keys[provider],
      models: settings.models.filter((m) => m.provider === provider).map((m) => m.id),
    }));
  }

  dispose(): void {
    this.#changed.dispose();
  }
}
