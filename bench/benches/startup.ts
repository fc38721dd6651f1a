/**
 * Start-up and idle memory, as an installed user gets them: @switchyard/core compiled to JavaScript
 * (bench/run.ts builds it first; '@switchyard/core' resolves to its dist/ from here).
 *
 * - Idle RSS of a fresh process that imports the router and builds one OpenAI deployment (then one
 *   of each provider, for comparison), after a GC; plain JavaScript (`node -e`), so no TypeScript
 *   stripping is counted. The tokenizer, the other SDKs and the simulator load on first use and are
 *   not part of it (docs/packaging.md).
 * - Wall time of `switchyard --help`: the compiled bin, and the TypeScript entry the repo runs in
 *   development (`node core/src/cli/main.ts`), side by side.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emit } from '../lib/result.ts';
import { median, round } from '../lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 7);
const benchDir = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

function idle(providers: readonly string[]): { rssMb: number; heapMb: number; sdks: string[] } {
  const code = `
    import { Router } from '@switchyard/core';
    const providers = ${JSON.stringify(providers)};
    const router = new Router({
      config: {
        deployments: providers.map((provider) => ({ id: provider, provider, model: 'm', apiKey: { env: 'KEY' } })),
        routes: [{ name: 'chat', deployments: providers }],
      },
      env: { KEY: 'sk-test-bench-not-a-real-key' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    globalThis.gc(); globalThis.gc();
    const { rss, heapUsed } = process.memoryUsage();
    console.log(JSON.stringify({ rss, heapUsed, deployments: router.config.deployments.length }));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    cwd: benchDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.status !== 0) throw new Error(`idle process failed: ${child.stderr}`);
  const { rss, heapUsed, deployments } = JSON.parse(child.stdout) as Record<string, number>;
  if (deployments !== providers.length) throw new Error('the router did not build every deployment');
  return { rssMb: rss! / 1024 / 1024, heapMb: heapUsed! / 1024 / 1024, sdks: [...providers] };
}

function helpMs(entry: string): { ms: number; ok: boolean } {
  const started = performance.now();
  const child = spawnSync(process.execPath, [entry, '--help'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    ms: performance.now() - started,
    ok: child.status === 0 && child.stdout.includes('Usage: switchyard'),
  };
}

const openaiIdle: number[] = [];
const openaiHeap: number[] = [];
const allIdle: number[] = [];
const compiledHelp: number[] = [];
const sourceHelp: number[] = [];
let helpOk = true;
for (let round = 0; round < ROUNDS; round++) {
  const one = idle(['openai']);
  openaiIdle.push(one.rssMb);
  openaiHeap.push(one.heapMb);
  allIdle.push(idle(['openai', 'anthropic', 'ollama']).rssMb);
  // Alternate the two entries so drift on a shared machine hits both alike.
  const compiled = helpMs('core/dist/cli/main.js');
  const source = helpMs('core/src/cli/main.ts');
  helpOk &&= compiled.ok && source.ok;
  compiledHelp.push(compiled.ms);
  sourceHelp.push(source.ms);
}

const metrics = {
  idle_rss_mb: median(openaiIdle),
  idle_heap_mb: median(openaiHeap),
  idle_rss_three_providers_mb: median(allIdle),
  help_ms: median(compiledHelp),
  help_source_ms: median(sourceHelp),
};
console.log(
  `startup: idle RSS ${round(metrics.idle_rss_mb, 0)} MB (heap ${round(metrics.idle_heap_mb, 0)} MB) with one OpenAI deployment, ${round(metrics.idle_rss_three_providers_mb, 0)} MB with one of each provider; switchyard --help ${round(metrics.help_ms, 0)} ms compiled, ${round(metrics.help_source_ms, 0)} ms from the TypeScript source (medians of ${ROUNDS})`,
);
emit({ metrics, checks: { 'switchyard --help exits 0 with its usage': helpOk } });
