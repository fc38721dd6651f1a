import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { DEFAULT_MAX_YAML_BYTES } from '../../runtime/config/limits.ts';
import { CliError } from './output.ts';

const YAML_EXTENSIONS = new Set(['.yaml', '.yml']);

export interface FoundFile {
  /** Absolute path. */
  path: string;
  /** Named on the command line (true) or found in a folder (false). */
  explicit: boolean;
  kind: 'scenario' | 'router';
}

/**
 * A file is a router config when it has `deployments` at the top level and no `load`: the scenarios
 * folder holds both (the shared router.default.yaml, the weakened configs), and only scenarios run.
 * An unreadable or broken file counts as a scenario so that its errors get reported, not skipped.
 */
export async function kindOf(
  path: string,
  maxBytes = DEFAULT_MAX_YAML_BYTES,
): Promise<'scenario' | 'router'> {
  try {
    const text = await readFile(path, 'utf8');
    // Too big to parse here: the loader refuses it with its size.
    if (Buffer.byteLength(text, 'utf8') > maxBytes) return 'scenario';
    const { parse: parseYaml } = await import('yaml');
    const data: unknown = parseYaml(text);
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      const keys = Object.keys(data);
      if (keys.includes('deployments') && !keys.includes('load')) return 'router';
    }
  } catch {
    // Broken YAML: the scenario loader reports it with a location.
  }
  return 'scenario';
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (YAML_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(path);
  }
  return files;
}

/**
 * Expands the paths given on the command line (files or folders, searched recursively for .yaml/.yml)
 * into scenario and router-config files, relative paths resolved against cwd. A missing path is bad input.
 */
export async function collectFiles(
  paths: readonly string[],
  cwd = process.cwd(),
  maxBytes = DEFAULT_MAX_YAML_BYTES,
): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const seen = new Set<string>();
  for (const given of paths) {
    const path = resolve(cwd, given);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`no such file or folder: ${given}`);
    }
    const files = info.isDirectory() ? await walk(path) : [path];
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      found.push({ path: file, explicit: !info.isDirectory(), kind: await kindOf(file, maxBytes) });
    }
  }
  return found;
}

/** A short name for a file in tables: relative to cwd when it is below it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const prefix = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

export function stem(path: string): string {
  return basename(path, extname(path));
}
