/**
 * Heavy dependencies, loaded on first use rather than when Switchyard is imported, so a process pays
 * only for what it uses (docs/packaging.md): an SDK only once a deployment of its provider is built,
 * the o200k tokenizer tables (~40–60 MB) on the first token count, the simulator's text generator
 * on the first simulated answer.
 *
 * Synchronous on purpose: SDK clients are built in the Router's constructor and tokens are counted
 * as a request starts, both synchronously. Node ≥ 22.12 `require`s ES modules, and each SDK is
 * required by its package's ES module file, so it is the very instance an `import` of that package
 * elsewhere in the process gets (no second copy). Every loader is a literal `require('…')` so that a
 * bundler still follows it: the extension's esbuild build drops the `createRequire` line below
 * (extension/scripts/build.ts) and bundles these modules like any other.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let openai: typeof import('openai') | undefined;
let anthropic: typeof import('@anthropic-ai/sdk') | undefined;

export const loadOpenAI = (): typeof import('openai') => {
  openai ??= require('openai/index.mjs') as typeof import('openai');
  return openai;
};

export const loadAnthropic = (): typeof import('@anthropic-ai/sdk') => {
  anthropic ??= require('@anthropic-ai/sdk/index.mjs') as typeof import('@anthropic-ai/sdk');
  return anthropic;
};

/** The SDKs with error classes that have been loaded so far: their errors can be told by `instanceof`. */
export function loadedSdks(): Array<typeof import('openai') | typeof import('@anthropic-ai/sdk')> {
  return [openai, anthropic].filter((sdk) => sdk !== undefined);
}

export const loadOllama = (): typeof import('ollama') => require('ollama/dist/index.mjs');

/** gpt-tokenizer's ES build is not exported to `require`; its CommonJS build is, and everyone here uses that one. */
export const loadO200k = (): typeof import('gpt-tokenizer/encoding/o200k_base') =>
  require('gpt-tokenizer/encoding/o200k_base');

/** The en-only entry point: the package root imports every locale's data (~40 MB of heap) for nothing. */
export const loadFaker = (): typeof import('@faker-js/faker/locale/en') =>
  require('@faker-js/faker/locale/en');
