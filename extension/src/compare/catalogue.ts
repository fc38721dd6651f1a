/**
 * The model picker's catalogue: for each provider, its live model list (the official SDK's
 * `models.list`, Ollama's `list`) when it is live, else the same call answered by the in-process
 * simulator — one code path, so the simulated list is exactly what the simulator serves. No vscode.
 *
 * Keys go to the SDK client only; a failure is reported as its status and reason, never with the
 * provider's message (which can echo part of a key).
 */
import Anthropic from '@anthropic-ai/sdk';
import { RealClock } from '@switchyard/core';
import { createSimulator, SIMULATED_API_KEY } from '@switchyard/core/faults';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { failureLabel } from '../shared/format.ts';
import {
  type Catalogue,
  type CatalogueEntry,
  PROVIDER_LABELS,
  type ProviderName,
} from '../shared/protocol.ts';
import { type CompareSettings, isSimulated, type ProviderKeys, SIMULATOR_ORIGIN } from './engine.ts';

/**
 * OpenAI's /v1/models lists every model of the account: embeddings, speech, images, moderation… A
 * comparison sends chat requests, so only chat-capable families are offered (the API has no flag for it).
 */
const NOT_CHAT =
  /embedding|tts|whisper|dall-e|davinci|babbage|audio|realtime|transcribe|image|moderation|search|computer-use/i;

export function isChatModel(provider: ProviderName, id: string): boolean {
  return provider !== 'openai' || (/^(gpt|o\d|chatgpt)/i.test(id) && !NOT_CHAT.test(id));
}

export interface CatalogueOptions {
  /** fetch for live lists (default globalThis.fetch). */
  liveFetch?: typeof fetch;
  /** Per provider (default 10 s): a slow endpoint must not hold the picker. */
  timeoutMs?: number;
}

/** Which providers the picker lists: the three built in, plus any other the settings use. */
export function catalogueProviders(settings: Pick<CompareSettings, 'models' | 'baseURLs'>): ProviderName[] {
  const used = settings.models.map((m) => m.provider);
  if (settings.baseURLs['openai-compatible']) used.push('openai-compatible');
  return [...new Set<ProviderName>(['openai', 'anthropic', 'ollama', ...used])];
}

export async function loadCatalogue(
  settings: CompareSettings,
  keys: ProviderKeys,
  options: CatalogueOptions = {},
): Promise<Catalogue> {
  const simulator = createSimulator({ clock: new RealClock(), seed: 1 });
  const simulatorFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    simulator.handle(new Request(input, init))) as typeof fetch;
  const liveFetch =
    options.liveFetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const notes: string[] = [];
  const lists = await Promise.all(
    catalogueProviders(settings).map(async (provider) => {
      const simulated = isSimulated(provider, settings, keys);
      if (!simulated) {
        const baseURL = settings.baseURLs[provider];
        if (provider === 'openai-compatible' && !baseURL) {
          notes.push(
            `${PROVIDER_LABELS[provider]}: no endpoint set (switchyard.providers.openai-compatible.baseURL)`,
          );
          return [];
        }
        try {
          const ids = await listModels(provider, {
            ...(baseURL ? { baseURL } : {}),
            ...(keys[provider] ? { apiKey: keys[provider] } : {}),
            fetch: liveFetch,
            timeoutMs: options.timeoutMs ?? 10_000,
          });
          return entries(provider, ids, 'live');
        } catch (error) {
          notes.push(
            `${PROVIDER_LABELS[provider]}: the live model list failed (${failureText(error)}); showing the simulator's`,
          );
        }
      }
      // openai-compatible servers speak OpenAI's API: the simulator answers them as OpenAI.
      const ids = await listModels(provider, {
        baseURL:
          provider === 'ollama' || provider === 'anthropic' ? SIMULATOR_ORIGIN : `${SIMULATOR_ORIGIN}/v1`,
        apiKey: SIMULATED_API_KEY,
        fetch: simulatorFetch,
        timeoutMs: options.timeoutMs ?? 10_000,
      });
      return entries(provider, ids, 'simulator');
    }),
  );
  return { entries: lists.flat(), notes, loading: false };
}

function entries(provider: ProviderName, ids: string[], source: CatalogueEntry['source']): CatalogueEntry[] {
  return [...new Set(ids)]
    .filter((id) => isChatModel(provider, id))
    .sort((a, b) => a.localeCompare(b))
    .map((model) => ({ id: `${provider}/${model}`, provider, model, source }));
}

interface ListOptions {
  baseURL?: string;
  apiKey?: string;
  fetch: typeof fetch;
  timeoutMs: number;
}

async function listModels(provider: ProviderName, options: ListOptions): Promise<string[]> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const ids: string[] = [];
  if (provider === 'ollama') {
    const client = new Ollama({
      ...(options.baseURL ? { host: options.baseURL } : {}),
      fetch: (input, init) => options.fetch(input, { ...init, signal }),
    });
    return (await client.list()).models.map((m) => m.name);
  }
  if (provider === 'anthropic') {
    const client = new Anthropic({
      apiKey: options.apiKey ?? null,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      fetch: options.fetch,
      maxRetries: 0,
    });
    for await (const model of client.models.list({ limit: 100 }, { signal })) ids.push(model.id);
    return ids;
  }
  const client = new OpenAI({
    apiKey: options.apiKey ?? 'none',
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    fetch: options.fetch,
    maxRetries: 0,
  });
  for await (const model of client.models.list({ signal })) ids.push(model.id);
  return ids;
}

/** `401 unauthorized`, `timeout`, `network error`: what went wrong, never the provider's own words. */
function failureText(error: unknown): string {
  const e = error as { status?: unknown; name?: unknown };
  if (typeof e?.status === 'number') return failureLabel(e.status, undefined);
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  return 'network error';
}
