import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import arrows of docs/architecture.md, checked: the test reads the "Arrows" block of the doc
 * and holds every import of every file of core/src and extension/src to it, so the doc and the code
 * cannot drift apart. A new import that breaks an arrow fails here with the file and the import
 * named; an arrow the code no longer uses fails too (the doc must stay true).
 */
const root = resolve(import.meta.dirname, '..');
const CORE_SRC = 'core/src';

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

/** Every module specifier a file imports or re-exports (static, dynamic, and for side effects only). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = new Set<string>();
  for (const match of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm,
  )) {
    specifiers.add((match[1] ?? match[2] ?? match[3])!);
  }
  return [...specifiers];
}

/** Resolved repo-relative target of a relative import, or the bare specifier. */
function target(file: string, specifier: string): string {
  return specifier.startsWith('.') ? relative(root, resolve(dirname(file), specifier)) : specifier;
}

interface Arrow {
  /** Repo-relative path of the room (a folder or a file). */
  from: string;
  allowed: boolean;
  /** Repo-relative paths, or package names. */
  to: string[];
}

/** A path as the doc writes it: under core/src, unless it starts with extension/. */
const repoPath = (path: string) =>
  path.startsWith('extension') ? path : relative(root, resolve(root, CORE_SRC, path));
const isPackage = (item: string) => !item.includes('.ts') && !item.startsWith('../') && !isRoomPath(item);
const ROOM_NAMES = /^(extension|index\.ts|cli|gateway|reports|scenarios|faults|runtime)(\/|$)/;
const isRoomPath = (item: string) => ROOM_NAMES.test(item);

/** The Arrows block of docs/architecture.md: `from ──▶ a, b (remark), c` lines, with continuations. */
function readArrows(): Arrow[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Arrows'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const lines: string[] = [];
  for (const line of block.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
  }
  return lines.map((line) => {
    const match = /^(\S+)\s+(──▶|─╳─▶)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`docs/architecture.md: not an arrow: ${line}`);
    let text = match[3]!;
    // Remarks in parentheses (nested ones too) are for the reader.
    while (/\([^()]*\)/.test(text)) text = text.replace(/\([^()]*\)/g, '');
    const items = text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    return {
      from: repoPath(match[1]!),
      allowed: match[2] === '──▶',
      to: items.map((item) => (isPackage(item) || item.startsWith('@') ? item : repoPath(item))),
    };
  });
}

const within = (path: string, room: string) => path === room || path.startsWith(`${room}/`);
/** A package import matches an item by its name (`highlight.js/lib/common` is `highlight.js`). */
const matches = (imported: string, item: string) =>
  imported.startsWith('@') || !imported.includes('/') || isRoomPath(item) || item.includes('/')
    ? within(imported, item)
    : imported.split('/')[0] === item;

const ARROWS = readArrows();
const positive = ARROWS.filter((a) => a.allowed);
const negative = ARROWS.filter((a) => !a.allowed);

/** The line that governs a file: the longest room path that contains it. */
function governing(file: string): Arrow | undefined {
  return positive.filter((a) => within(file, a.from)).sort((a, b) => b.from.length - a.from.length)[0];
}

const FILES = [...sourceFiles(join(root, CORE_SRC)), ...sourceFiles(join(root, 'extension/src'))].map((f) =>
  relative(root, f),
);

describe('import arrows (docs/architecture.md)', () => {
  it('the doc draws a room for every source file, and the rooms exist', () => {
    expect(positive.length).toBeGreaterThan(14);
    expect(FILES.filter((file) => !governing(file))).toEqual([]);
    for (const arrow of ARROWS) {
      expect(existsSync(join(root, arrow.from)), arrow.from).toBe(true);
      for (const item of arrow.to)
        if (!isPackage(item) && !item.startsWith('@')) expect(existsSync(join(root, item)), item).toBe(true);
    }
  });

  it('every import follows an arrow of its room, and crosses none of the forbidden ones', () => {
    const used = new Set<string>();
    const violations: string[] = [];
    for (const file of FILES) {
      const arrow = governing(file)!;
      for (const specifier of importsOf(join(root, file))) {
        if (specifier.startsWith('node:')) continue;
        const imported = target(join(root, file), specifier);
        const forbidden = negative.find(
          (n) => within(file, n.from) && n.to.some((item) => matches(imported, item)),
        );
        if (forbidden) violations.push(`${file} imports ${imported}: ${forbidden.from} ─╳─▶ it`);
        // Within its own room, a file imports freely.
        if (governing(imported) === arrow) continue;
        // The most specific item drawn (@switchyard/core/faults rather than @switchyard/core).
        const item = arrow.to.filter((i) => matches(imported, i)).sort((a, b) => b.length - a.length)[0];
        if (item) used.add(`${arrow.from} ──▶ ${item}`);
        else violations.push(`${file} imports ${imported}, which ${arrow.from} ──▶ does not draw`);
      }
    }
    expect(violations).toEqual([]);
    const drawn = positive.flatMap((a) => a.to.map((item) => `${a.from} ──▶ ${item}`));
    expect(
      drawn.filter((arrow) => !used.has(arrow)),
      'arrows the doc draws that no import uses',
    ).toEqual([]);
  });

  it('nothing outside core deep-imports its internals', () => {
    const deep = (t: string) =>
      t.startsWith('core/src') || /^@switchyard\/core\/(?!faults$|scenarios$|reports$).+/.test(t);
    const offenders = [...sourceFiles(join(root, 'extension')), ...sourceFiles(join(root, 'test'))].flatMap(
      (file) =>
        importsOf(file)
          .map((s) => target(file, s))
          .filter(deep)
          .map((t) => `${relative(root, file)} imports ${t}`),
    );
    expect(offenders).toEqual([]);
  });

  it('reads the arrows it checks and finds the imports they govern (the checks above are not vacuous)', () => {
    expect(governing('core/src/runtime/router.ts')?.from).toBe('core/src/runtime');
    expect(governing('core/src/scenarios/harness/driver.ts')?.from).toBe('core/src/scenarios/harness');
    expect(governing('core/src/scenarios/load.ts')?.from).toBe('core/src/scenarios');
    expect(negative.map((n) => n.from)).toContain('core/src/runtime');
    const router = 'core/src/runtime/router.ts';
    const routerImports = importsOf(join(root, router)).map((s) => target(join(root, router), s));
    expect(routerImports).toContain('core/src/runtime/policies/index.ts');
    expect(routerImports).toContain('@opentelemetry/api');
    const gateway = join(root, 'core/src/gateway/server.ts');
    expect(importsOf(gateway).map((s) => target(gateway, s))).toContain('core/src/runtime/router.ts');
  });
});
