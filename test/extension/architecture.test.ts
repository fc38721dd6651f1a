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

  it('the webview app imports only the shared modules', () => {
    const text = readFileSync(join(ext, 'src/webview/compare.ts'), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.every((i) => i?.startsWith('../shared/'))).toBe(true);
  });

  it('no key ever reaches settings: the manifest has no apiKey setting', () => {
    const pkg = JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8'));
    const settings = Object.keys(pkg.contributes.configuration.properties);
    expect(settings.filter((s) => /key|secret|token/i.test(s) && s !== 'switchyard.maxOutputTokens')).toEqual(
      [],
    );
  });
});
