import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import type { ConfigIssue } from './errors.ts';

/**
 * Generic helpers that turn YAML parse errors and schema issues into located ConfigIssues.
 * The router config uses them; scenario files reuse them with their own schemas.
 */

export type YamlPath = readonly PropertyKey[];

export interface YamlLocation {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** False when the path stops early (a missing key): the location is then the deepest existing parent. */
  exact: boolean;
}

export interface LocateOptions {
  /** For a map entry, point at its key rather than its value (e.g. for an unknown field). */
  at?: 'key' | 'value';
}

function position(lineCounter: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
}

/**
 * Where a data path (as zod reports it: keys and indexes) lives in a parsed YAML document. Walks maps
 * by key and sequences by index; aliases are followed to their anchors. If a step is missing, the
 * location is that of the last node found (for a missing key: the map that should hold it).
 * `key: ` with no value is located at the key, since the empty value has no text of its own.
 */
export function locateYamlPath(
  doc: Document,
  lineCounter: LineCounter,
  path: YamlPath,
  options: LocateOptions = {},
): YamlLocation {
  let node: unknown = doc.contents;
  let lastOffset = firstOffset(node) ?? 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextKey: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyMatches(item.key, segment));
      if (pair) {
        next = pair.value;
        nextKey = pair.key;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined && nextKey === undefined) {
      return { ...position(lineCounter, lastOffset), exact: false };
    }
    node = next;
    const keyOffset = firstOffset(nextKey);
    const valueOffset = next === null || isEmptyScalar(next) ? undefined : firstOffset(next);
    lastOffset = (options.at === 'key' ? keyOffset : undefined) ?? valueOffset ?? keyOffset ?? lastOffset;
  }
  return { ...position(lineCounter, lastOffset), exact: true };
}

function keyMatches(key: unknown, segment: PropertyKey): boolean {
  const value = isScalar(key) ? key.value : key;
  // YAML keys may be numbers or booleans while JS paths carry strings (records) or numbers.
  return value === segment || (value !== null && value !== undefined && String(value) === String(segment));
}

function firstOffset(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A data path as people write it: `routes[0].deployments[1]`, `prices["gpt-4.1"]`; '' for the root. */
export function formatFieldPath(path: YamlPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/**
 * YAML errors as located issues. After the first syntax error the parser's later complaints are
 * mostly its consequences (one tab yields a handful), so only that one is kept; duplicate keys are
 * independent of each other and all reported.
 */
export function yamlErrorIssues(doc: Document, lineCounter: LineCounter, file: string): ConfigIssue[] {
  const firstSyntax = doc.errors.find((error) => error.code !== 'DUPLICATE_KEY');
  return doc.errors
    .filter((error) => error === firstSyntax || error.code === 'DUPLICATE_KEY')
    .map((error) => ({ file, ...position(lineCounter, error.pos[0]), field: '', message: error.message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

const DEFAULT_UNION_MESSAGE = 'Invalid input';

/**
 * Expands zod issues into one located issue each. An unknown key becomes one issue per key, at the
 * key; a union none of whose branches matched reports the branch that got furthest, or what each
 * branch expected.
 */
export function zodIssuesToConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: YamlPath, message: string, at?: 'key') => {
    const { line, column } = locateYamlPath(doc, lineCounter, path, at ? { at } : {});
    out.push({ file, line, column, field: formatFieldPath(path), message });
  };
  const visit = (issue: z.core.$ZodIssue, prefix: YamlPath) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...path, key], `unknown field "${key}"`, 'key');
      return;
    }
    if (
      issue.code === 'invalid_union' &&
      issue.message === DEFAULT_UNION_MESSAGE &&
      issue.errors.length > 0
    ) {
      // A branch whose issues are all below the value understood its type: its complaints are the useful ones.
      const deep = issue.errors
        .filter((branch) => branch.length > 0 && branch.every((inner) => inner.path.length > 0))
        .sort((a, b) => a.length - b.length)[0];
      if (deep) {
        for (const inner of deep) visit(inner, path);
        return;
      }
      const expected = [
        ...new Set(issue.errors.flat().map((inner) => inner.message.replace(/^Invalid input: /, ''))),
      ];
      add(path, `no accepted form matched: ${expected.join('; or ')}`);
      return;
    }
    const last = path.at(-1);
    if (
      issue.code === 'invalid_type' &&
      issue.message.endsWith('received undefined') &&
      typeof last === 'string'
    ) {
      add(path, `missing required field "${last}"`);
      return;
    }
    add(path, issue.message);
  };
  for (const issue of issues) visit(issue, []);
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}
