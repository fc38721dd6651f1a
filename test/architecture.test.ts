import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import arrows of docs/architecture.md, checked: each room may import only what the arrows
 * allow. A new import that breaks them fails here with the file and the import named.
 */
const root = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(ts|mts|tsx)$/.test(name)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = new Set<string>();
  for (const match of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    specifiers.add((match[1] ?? match[2])!);
  }
  return [...specifiers];
}

/** Resolved repo-relative target of a relative import, or the bare specifier. */
function target(file: string, specifier: string): string {
  return specifier.startsWith('.') ? relative(root, resolve(dirname(file), specifier)) : specifier;
}

function violations(dir: string, forbidden: (target: string) => boolean): string[] {
  return sourceFiles(join(root, dir)).flatMap((file) =>
    importsOf(file)
      .map((s) => target(file, s))
      .filter(forbidden)
      .map((t) => `${relative(root, file)} imports ${t}`),
  );
}

describe('import arrows', () => {
  it('the runtime imports no other room', () => {
    expect(
      violations('core/src/runtime', (t) => /^core\/src\/(faults|scenarios|reports|cli|gateway)\b/.test(t)),
    ).toEqual([]);
  });

  it('the gateway serves the runtime and imports no other room (the CLI hands it the simulator)', () => {
    expect(
      violations('core/src/gateway', (t) => /^core\/src\/(faults|scenarios|reports|cli)\b/.test(t)),
    ).toEqual([]);
  });

  it('the faults room uses only runtime types and the clock, never the router', () => {
    // core/src/lazy.ts: the loaders of heavy dependencies (the tokenizer, faker), no logic of its own.
    const allowed = /^core\/src\/runtime\/(types|errors|clock)\.ts$|^core\/src\/lazy\.ts$|^core\/data\//;
    expect(
      violations(
        'core/src/faults',
        (t) => t.startsWith('core/src/') && !t.startsWith('core/src/faults') && !allowed.test(t),
      ),
    ).toEqual([]);
  });

  it('nothing outside core deep-imports its internals', () => {
    const deep = (t: string) =>
      t.startsWith('core/src') || /^@switchyard\/core\/(?!faults$|scenarios$|reports$).+/.test(t);
    expect([...violations('extension', deep), ...violations('test', deep)]).toEqual([]);
  });

  it('finds the imports it checks (the checks above are not vacuous)', () => {
    const routerImports = importsOf(join(root, 'core/src/runtime/router.ts')).map((s) =>
      target(join(root, 'core/src/runtime/router.ts'), s),
    );
    expect(routerImports).toContain('core/src/runtime/policies/index.ts');
    expect(routerImports).toContain('@opentelemetry/api');
    const gateway = join(root, 'core/src/gateway/server.ts');
    expect(importsOf(gateway).map((s) => target(gateway, s))).toContain('core/src/runtime/router.ts');
  });
});
