/**
 * Prompt files: Markdown named `*.switchyard.md` (or the older `*.prompt.md`, which Copilot also
 * claims for its own prompt files, still read) with YAML front matter naming the models and the
 * parameters of the comparison.
 *
 *   ---
 *   models: [openai/gpt-4.1, anthropic/claude-sonnet-4-6, ollama/llama3.2]
 *   temperature: 0.2
 *   maxOutputTokens: 200
 *   system: You answer in one short paragraph.
 *   chaos: { fault: rate_limit, provider: openai }   # optional: always compare under this fault
 *   ---
 *   ## Rivers
 *   Name three rivers.
 *
 *   ## Retries
 *   What is a retry storm?
 *
 * Each level-2 heading starts a prompt (its text runs to the next one); a file without level-2
 * headings is one prompt, its whole body. Every field is optional: models default to the
 * `switchyard.models` setting. Problems come back with their line, never as exceptions.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { type ChaosProfile, isChaosProfile } from './protocol.ts';

export interface PromptFileMeta {
  title?: string;
  models?: string[];
  temperature?: number;
  maxOutputTokens?: number;
  system?: string;
  chaos?: ChaosProfile;
}

export interface PromptEntry {
  index: number;
  title: string;
  text: string;
  /** 0-based line the CodeLens goes on: the heading, or the first body line. */
  line: number;
}

export interface PromptFileIssue {
  /** 0-based. */
  line: number;
  column: number;
  message: string;
}

/** Where a value sits in the file (0-based), for diagnostics and quick fixes on it. */
export interface ValueRef {
  value: string;
  line: number;
  column: number;
  endColumn: number;
}

/** A `##` heading and what it holds: a prompt, or nothing (an empty section is not a prompt). */
export interface PromptSection {
  title: string;
  /** 0-based line of the heading. */
  line: number;
  /** Index into `prompts`, when the section has text. */
  promptIndex?: number;
}

export interface PromptFile {
  meta: PromptFileMeta;
  prompts: PromptEntry[];
  /** Every `##` section in order, empty ones included (empty when the file has no headings). */
  sections: PromptSection[];
  /** Where the front matter's model ids and chaos fault are written. */
  refs: { models: ValueRef[]; fault?: ValueRef };
  issues: PromptFileIssue[];
}

const KNOWN_KEYS = new Set(['title', 'models', 'temperature', 'maxOutputTokens', 'system', 'chaos']);

/** The suffix new prompt files get; `.prompt.md` (Copilot's too) is still read. */
export const PROMPT_FILE_SUFFIX = '.switchyard.md';
export const PROMPT_FILE_SUFFIXES = [PROMPT_FILE_SUFFIX, '.prompt.md'] as const;
/** For `when` clauses and glob-less checks: either suffix, any case. */
export const PROMPT_FILE_PATTERN = /\.(switchyard|prompt)\.md$/i;

export function isPromptFileName(path: string): boolean {
  return PROMPT_FILE_PATTERN.test(path);
}

export function parsePromptFile(text: string, fileName = `prompt${PROMPT_FILE_SUFFIX}`): PromptFile {
  const lines = text.split(/\r?\n/);
  const issues: PromptFileIssue[] = [];
  let meta: PromptFileMeta = {};
  const refs: PromptFile['refs'] = { models: [] };
  let bodyStart = 0;

  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((l, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(l));
    if (end < 0) {
      issues.push({
        line: 0,
        column: 0,
        message: 'front matter starts with --- but never ends (add a closing ---)',
      });
      bodyStart = lines.length;
    } else {
      meta = parseFrontMatter(lines.slice(1, end).join('\n'), 1, issues, refs);
      bodyStart = end + 1;
    }
  }

  const prompts: PromptEntry[] = [];
  const sections: PromptSection[] = [];
  const headings: number[] = [];
  let fenced = false;
  for (let i = bodyStart; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (!fenced && /^##\s+\S/.test(line)) headings.push(i);
  }
  const clean = (from: number, to: number) => lines.slice(from, to).join('\n').trim();
  if (headings.length === 0) {
    const body = clean(bodyStart, lines.length);
    if (body) {
      const first = lines.findIndex((l, i) => i >= bodyStart && l.trim() !== '');
      const title = meta.title ?? fileName.replace(/^.*[\\/]/, '').replace(PROMPT_FILE_PATTERN, '');
      prompts.push({ index: 0, title, text: body, line: Math.max(0, first) });
    }
  } else {
    headings.forEach((start, index) => {
      const end = headings[index + 1] ?? lines.length;
      const title = lines[start]!.replace(/^##\s+/, '').trim();
      const body = clean(start + 1, end);
      if (!body) {
        issues.push({ line: start, column: 0, message: `prompt "${title}" has no text under its heading` });
        sections.push({ title, line: start });
      } else {
        sections.push({ title, line: start, promptIndex: prompts.length });
        prompts.push({ index: prompts.length, title, text: body, line: start });
      }
    });
  }
  if (prompts.length === 0 && issues.length === 0)
    issues.push({
      line: bodyStart,
      column: 0,
      message: 'no prompt: write the prompt below the front matter',
    });
  return { meta, prompts, sections, refs, issues };
}

/** What the compare command runs for a cursor on `line`: the prompt of the section it is in. */
export type PromptAtLine =
  | { kind: 'prompt'; prompt: PromptEntry }
  /** The cursor is in a section with no text: say so rather than run another prompt. */
  | { kind: 'empty'; title: string; line: number }
  /** Above the first heading, with several prompts in the file: ask which one. */
  | { kind: 'choose' }
  | { kind: 'none' };

export function promptAtLine(file: PromptFile, line: number): PromptAtLine {
  if (file.sections.length === 0) {
    const only = file.prompts[0];
    return only ? { kind: 'prompt', prompt: only } : { kind: 'none' };
  }
  const section = file.sections.findLast((s) => s.line <= line);
  if (!section) {
    if (file.prompts.length === 1) return { kind: 'prompt', prompt: file.prompts[0]! };
    return file.prompts.length === 0 ? { kind: 'none' } : { kind: 'choose' };
  }
  if (section.promptIndex === undefined) return { kind: 'empty', title: section.title, line: section.line };
  return { kind: 'prompt', prompt: file.prompts[section.promptIndex]! };
}

function parseFrontMatter(
  source: string,
  firstLine: number,
  issues: PromptFileIssue[],
  refs: PromptFile['refs'],
): PromptFileMeta {
  const counter = new LineCounter();
  const doc = parseDocument(source, { lineCounter: counter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    const pos = counter.linePos(offset ?? 0);
    return { line: firstLine + pos.line - 1, column: pos.col - 1 };
  };
  for (const error of doc.errors)
    issues.push({ ...at(error.pos[0]), message: error.message.split('\n')[0]! });
  if (doc.errors.length > 0) return {};
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    issues.push({ ...at(0), message: 'front matter must be a mapping (key: value lines)' });
    return {};
  }
  const meta: PromptFileMeta = {};
  for (const pair of doc.contents.items) {
    const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
    const node = pair.value as { range?: [number, number, number]; toJSON?: () => unknown } | null;
    const where = at((pair.key as unknown as { range?: number[] } | null)?.range?.[0]);
    const value: unknown = node && typeof node.toJSON === 'function' ? node.toJSON() : node;
    const problem = (message: string) => issues.push({ ...where, message: `${key}: ${message}` });
    if (!KNOWN_KEYS.has(key)) {
      problem(`unknown field (known: ${[...KNOWN_KEYS].join(', ')})`);
      continue;
    }
    switch (key) {
      case 'title':
      case 'system':
        if (typeof value === 'string') meta[key] = value;
        else problem('expected text');
        break;
      case 'models':
        if (
          Array.isArray(value) &&
          value.length > 0 &&
          value.every((m) => typeof m === 'string' && m.trim())
        ) {
          meta.models = value.map((m: string) => m.trim());
          if (isSeq(node))
            for (const item of node.items) {
              const ref = valueRef(item, at);
              if (ref) refs.models.push(ref);
            }
        } else
          problem(
            'expected a non-empty list of model ids, e.g. [openai/gpt-4.1, anthropic/claude-sonnet-4-6]',
          );
        break;
      case 'temperature':
        if (typeof value === 'number' && value >= 0 && value <= 2) meta.temperature = value;
        else problem('expected a number from 0 to 2');
        break;
      case 'maxOutputTokens':
        if (typeof value === 'number' && Number.isInteger(value) && value > 0) meta.maxOutputTokens = value;
        else problem('expected a positive whole number');
        break;
      case 'chaos': {
        const candidate =
          value && typeof value === 'object' ? { provider: 'all', rate: 1, ...(value as object) } : value;
        if (isChaosProfile(candidate)) meta.chaos = candidate;
        else problem('expected { fault: <fault id>, provider: all|openai|anthropic|ollama, rate: 0..1 }');
        const fault = isMap(node) ? valueRef(node.get('fault', true), at) : undefined;
        if (fault) refs.fault = fault;
        break;
      }
    }
  }
  return meta;
}

/** A scalar's text and where it is written (quotes excluded when there are any). */
function valueRef(
  node: unknown,
  at: (offset: number | undefined) => { line: number; column: number },
): ValueRef | undefined {
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return undefined;
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
  const start = at(node.range[0] + quoted);
  const end = at(node.range[1] - quoted);
  if (end.line !== start.line) return undefined;
  return { value: node.value, line: start.line, column: start.column, endColumn: end.column };
}
