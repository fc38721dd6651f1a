import { createRequire } from 'node:module';
import { VERSION as ANTHROPIC_VERSION } from '@anthropic-ai/sdk/version';
import { VERSION as OPENAI_VERSION } from 'openai/version';

let cached: Record<string, string> | undefined;

/** The versions of the official SDKs the adapters are built on, as run journals record them. */
export function sdkVersions(): Record<string, string> {
  if (cached) return cached;
  let ollama = 'unknown';
  try {
    ollama = (createRequire(import.meta.url)('ollama/package.json') as { version: string }).version;
  } catch {
    // A package that does not export its package.json: the version stays unknown.
  }
  cached = { openai: OPENAI_VERSION, '@anthropic-ai/sdk': ANTHROPIC_VERSION, ollama };
  return cached;
}
