import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Heavy dependencies load on first use (core/src/lazy.ts): a fresh process records every package it
 * loads (Node's module hooks see `import` and `require` alike) while it imports the router and does
 * one thing, and prints the list.
 */
const core = resolve(import.meta.dirname, '../../core/src/index.ts');

function packagesLoadedBy(
  body: string,
  preamble = `const core = await import(${JSON.stringify(core)});`,
): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({
      load(url, context, next) {
        const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url);
        if (match) loaded.add(match[1]);
        return next(url, context);
      },
    });
    ${preamble}
    const deployment = (provider) => ({ id: provider, provider, model: 'm', apiKey: { env: 'KEY' } });
    const router = (...providers) => new core.Router({
      config: { deployments: providers.map(deployment), routes: [{ name: 'chat', deployments: providers }] },
      env: { KEY: 'sk-test-key' },
    });
    ${body}
    console.log(JSON.stringify([...loaded].sort()));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout) as string[];
}

const HEAVY = ['openai', '@anthropic-ai/sdk', 'ollama', 'gpt-tokenizer', '@faker-js/faker', 'msw', 'nock'];
const heavyIn = (loaded: string[]) => HEAVY.filter((name) => loaded.includes(name));

describe('lazy loading of heavy dependencies', () => {
  it('a router with one OpenAI deployment loads the openai SDK only: no other SDK, no tokenizer tables', () => {
    expect(heavyIn(packagesLoadedBy(`router('openai');`))).toEqual(['openai']);
  });

  it('each SDK loads once a deployment of its provider is built', () => {
    expect(heavyIn(packagesLoadedBy(`router('anthropic', 'ollama');`))).toEqual([
      '@anthropic-ai/sdk',
      'ollama',
    ]);
  });

  it('the tokenizer loads on the first token count', () => {
    const loaded = packagesLoadedBy(
      `core.estimateInputTokens({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] });`,
    );
    expect(heavyIn(loaded)).toEqual(['gpt-tokenizer']);
  });

  it('switchyard --help loads none of them, nor zod or yaml (start-up time)', () => {
    const cli = resolve(import.meta.dirname, '../../core/src/cli/main.ts');
    const loaded = packagesLoadedBy(
      `process.exitCode = 0;`,
      `process.argv = [process.argv[0], ${JSON.stringify(cli)}, '--help'];
       const write = process.stdout.write;
       process.stdout.write = () => true;
       await import(${JSON.stringify(cli)});
       process.stdout.write = write;`,
    );
    expect(loaded).toContain('commander');
    expect([...heavyIn(loaded), ...loaded.filter((name) => name === 'zod' || name === 'yaml')]).toEqual([]);
  });

  it('importing the faults entry point loads neither the text generator, the tokenizer nor MSW', () => {
    const loaded = packagesLoadedBy(
      `await import(${JSON.stringify(resolve(import.meta.dirname, '../../core/src/faults/index.ts'))});`,
    );
    expect(heavyIn(loaded)).toEqual([]);
  });
});
