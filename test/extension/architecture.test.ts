import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ext = join(import.meta.dirname, '../../extension');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'dist-vsix') return [];
    return statSync(path).isDirectory() ? files(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

describe('extension boundaries', () => {
  it('the shared modules (host + webview) and the engine never import vscode', () => {
    const pure = [
      ...files(join(ext, 'src/shared')),
      join(ext, 'src/compare/engine.ts'),
      join(ext, 'src/scenarios/model.ts'),
    ];
    const offenders = pure
      .filter((f) => /from 'vscode'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ext, f));
    expect(offenders).toEqual([]);
  });

  it('the webview app imports only the shared modules, its own folder and its browser libraries', () => {
    const browserLibraries = ['diff', 'dompurify', 'highlight.js/lib/common', 'marked'];
    const imports = files(join(ext, 'src/webview')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!),
    );
    expect(imports.length).toBeGreaterThan(5);
    const offenders = imports.filter(
      (i) => !i.startsWith('../shared/') && !/^\.\/[\w.]+$/.test(i) && !browserLibraries.includes(i),
    );
    expect(offenders).toEqual([]);
  });

  it('no key ever reaches settings: the manifest has no apiKey setting', () => {
    const pkg = JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8'));
    const settings = Object.keys(pkg.contributes.configuration.properties);
    expect(settings.filter((s) => /key|secret|token/i.test(s) && s !== 'switchyard.maxOutputTokens')).toEqual(
      [],
    );
  });
});
