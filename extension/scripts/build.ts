/**
 * Bundles the extension: the host code (with @switchyard/core and the SDKs) to one CommonJS file for
 * VS Code's extension host (which may run an older Node than 24: target node20), the webview app for
 * the browser, and the integration test suite. Core reads a few files at run time (uPlot for the HTML
 * report, prices.json, versions): they are copied next to the bundle where those reads look.
 *
 *   node extension/scripts/build.ts [--watch] [--production]
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const ext = resolve(import.meta.dirname, '..');
const repo = resolve(ext, '..');
const dist = join(ext, 'dist');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const require = createRequire(join(repo, 'core', 'package.json'));
const coreRoot = dirname(require.resolve('@switchyard/core/package.json'));

/**
 * Core is ESM and finds its files through import.meta.url; in a CommonJS bundle that is gone. Each
 * core module gets its own URL back, mapped under dist/core/ (where the files it reads are copied).
 */
const coreMetaUrl: esbuild.Plugin = {
  name: 'core-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const rel = relative(coreRoot, args.path);
      if (rel.startsWith('..')) return undefined;
      let source = await readFile(args.path, 'utf8');
      // core/src/lazy.ts loads heavy dependencies on first use with literal require('…') calls through a
      // createRequire. Without that line they are plain require() calls, which esbuild bundles.
      if (rel.split('\\').join('/') === 'src/lazy.ts') {
        const line = 'const require = createRequire(import.meta.url);';
        if (!source.includes(line)) throw new Error(`core/src/lazy.ts no longer has "${line}"`);
        source = source.replace(line, '');
      }
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `__syCoreUrl(${JSON.stringify(rel.split('\\').join('/'))})`,
        ),
        loader: 'ts',
      };
    });
  },
};

const nodeBanner = [
  `var __syCoreUrl = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, 'core', rel)).href;`,
  `var __syMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
].join('\n');

const common: esbuild.BuildOptions = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const nodeOptions: esbuild.BuildOptions = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Core's TypeScript sources, not its compiled dist/ (see core/package.json "exports").
  conditions: ['@switchyard/source'],
  external: ['vscode'],
  // jsonc-parser's main entry is a UMD wrapper whose require() calls esbuild cannot follow.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  define: { 'import.meta.url': '__syMetaUrl', 'import.meta.dirname': '__dirname' },
  banner: { js: nodeBanner },
  plugins: [coreMetaUrl],
};

const builds: esbuild.BuildOptions[] = [
  { ...nodeOptions, entryPoints: [join(ext, 'src', 'extension.ts')], outfile: join(dist, 'extension.cjs') },
  {
    ...nodeOptions,
    entryPoints: [join(ext, 'test', 'integration', 'index.ts')],
    outfile: join(dist, 'test', 'suite.cjs'),
    sourcemap: 'inline',
  },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: [join(ext, 'src', 'webview', 'compare.ts')],
    outfile: join(dist, 'webview', 'compare.js'),
  },
];

async function copyAssets(): Promise<void> {
  await mkdir(join(dist, 'webview'), { recursive: true });
  await cp(join(ext, 'src', 'webview', 'compare.css'), join(dist, 'webview', 'compare.css'));
  // core/src/faults/simulator/models.ts reads ../../../data/prices.json; runner.ts reads ../../package.json.
  await mkdir(join(dist, 'core', 'data'), { recursive: true });
  await cp(join(coreRoot, 'data', 'prices.json'), join(dist, 'core', 'data', 'prices.json'));
  const corePkg = JSON.parse(await readFile(join(coreRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  await writeFile(
    join(dist, 'core', 'package.json'),
    `${JSON.stringify({ name: corePkg.name, version: corePkg.version })}\n`,
  );
  // core/src/reports/html.ts inlines uPlot, resolved from node_modules next to the module.
  const uplot = dirname(require.resolve('uplot/package.json'));
  const target = join(dist, 'node_modules', 'uplot');
  await mkdir(join(target, 'dist'), { recursive: true });
  const uplotPkg = JSON.parse(await readFile(join(uplot, 'package.json'), 'utf8')) as { version: string };
  await writeFile(
    join(target, 'package.json'),
    `${JSON.stringify({ name: 'uplot', version: uplotPkg.version })}\n`,
  );
  for (const f of ['uPlot.iife.min.js', 'uPlot.min.css', '../LICENSE']) {
    const from = join(uplot, 'dist', f);
    await cp(from, join(target, 'dist', f)).catch(() => undefined);
  }
  await cp(join(uplot, 'LICENSE'), join(target, 'LICENSE')).catch(() => undefined);
  await mkdir(join(dist, 'schema'), { recursive: true });
  await cp(join(repo, 'scenarios', 'scenario.schema.json'), join(dist, 'schema', 'scenario.schema.json'));
}

await rm(dist, { recursive: true, force: true });
await copyAssets();
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log('esbuild: watching');
} else {
  const results = await Promise.all(builds.map((options) => esbuild.build({ ...options, metafile: true })));
  for (const r of results)
    for (const [file, out] of Object.entries(r.metafile?.outputs ?? {}))
      if (!file.endsWith('.map')) console.log(`${relative(repo, file)}  ${(out.bytes / 1024).toFixed(0)} KB`);
}
