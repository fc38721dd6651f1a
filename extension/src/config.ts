/**
 * Settings (`switchyard.*`) and API keys (SecretStorage only). Keys never appear in settings, logs,
 * webview messages or reports: only whether a provider has one.
 */
import * as vscode from 'vscode';
import {
  type CompareSettings,
  DEFAULT_MODELS,
  type ModelSetting,
  type ProviderKeys,
} from './compare/engine.ts';
import { PROVIDER_NAMES, type ProviderName } from './shared/protocol.ts';

export const KEYED_PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const;
export type KeyedProvider = (typeof KEYED_PROVIDERS)[number];

export function secretName(provider: KeyedProvider): string {
  return `switchyard.apiKey.${provider}`;
}

function validModels(value: unknown): ModelSetting[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const models = value.filter(
    (m): m is ModelSetting =>
      !!m &&
      typeof m === 'object' &&
      typeof m.id === 'string' &&
      PROVIDER_NAMES.includes(m.provider) &&
      typeof m.model === 'string',
  );
  return models.length > 0 ? models : undefined;
}

export function readSettings(scope?: vscode.Uri): CompareSettings {
  const c = vscode.workspace.getConfiguration('switchyard', scope);
  const baseURLs: Partial<Record<ProviderName, string>> = {};
  for (const p of PROVIDER_NAMES) {
    const url = c.get<string>(`providers.${p}.baseURL`);
    if (url) baseURLs[p] = url;
  }
  return {
    models: validModels(c.get('models')) ?? DEFAULT_MODELS,
    simulation: c.get<'auto' | 'always' | 'never'>('simulation', 'auto'),
    fallbackToOtherModels: c.get<boolean>('fallbackToOtherModels', true),
    maxAttempts: c.get<number>('retry.maxAttempts', 2),
    ollamaLive: c.get<boolean>('providers.ollama.live', false),
    baseURLs,
    maxOutputTokens: c.get<number>('maxOutputTokens', 256),
  };
}

export class Keys {
  readonly #secrets: vscode.SecretStorage;
  readonly #changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.#changed.event;

  constructor(secrets: vscode.SecretStorage) {
    this.#secrets = secrets;
    secrets.onDidChange((e) => {
      if (e.key.startsWith('switchyard.apiKey.')) this.#changed.fire();
    });
  }

  async all(): Promise<ProviderKeys> {
    const keys: ProviderKeys = {};
    for (const p of KEYED_PROVIDERS) {
      const value = await this.#secrets.get(secretName(p));
      if (value) keys[p] = value;
    }
    return keys;
  }

  async has(provider: KeyedProvider): Promise<boolean> {
    return !!(await this.#secrets.get(secretName(provider)));
  }

  async set(provider: KeyedProvider, value: string): Promise<void> {
    await this.#secrets.store(secretName(provider), value);
  }

  async clear(provider: KeyedProvider): Promise<void> {
    await this.#secrets.delete(secretName(provider));
  }

  dispose(): void {
    this.#changed.dispose();
  }
}
