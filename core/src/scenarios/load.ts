import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, formatConfigIssue } from '../runtime/config/errors.ts';
import {
  parseRouterConfig,
  parseYamlDocument,
  unsetKeyIssues,
  type YamlLimits,
} from '../runtime/config/load.ts';
import {
  formatFieldPath,
  locateYamlPath,
  type YamlPath,
  zodIssuesToConfigIssues,
} from '../runtime/config/locate.ts';
import { type RouterConfig, routerConfigSchema } from '../runtime/config/schema.ts';
import { type Scenario, type ScenarioSpec, scenarioSchema } from './schema.ts';

/**
 * Scenario files are located and reported like router configs (same YAML machinery): every problem
 * names file, line, column and field. A ScenarioError is a ConfigError, so callers that print
 * ConfigErrors print these too.
 */
export class ScenarioError extends ConfigError {
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(issues, options);
    const file = issues[0]?.file ?? 'scenario';
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    this.message = `Invalid scenario ${file} (${count}):\n${this.issues.map((i) => `  ${formatConfigIssue(i)}`).join('\n')}`;
    this.name = 'ScenarioError';
  }
}

export interface ParsedScenarioSpec {
  spec: ScenarioSpec;
  /** 1-based line of each hypothesis. */
  hypothesisLines: number[];
  /** Locates a data path in the file (for errors found after validation). */
  locate(path: YamlPath): { line: number; column: number };
}

/** Parses and validates the scenario text, without touching other files. */
export function parseScenarioSpec(text: string, file: string, limits: YamlLimits = {}): ParsedScenarioSpec {
  const { doc, lineCounter, data } = parseYamlDocument(text, file, ScenarioError, limits);
  if (data === null || data === undefined)
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: 'the document is empty' }]);
  const result = scenarioSchema.safeParse(data);
  if (!result.success)
    throw new ScenarioError(
      zodIssuesToConfigIssues(withMissingFields(result.error.issues, data), doc, lineCounter, file),
    );
  const locate = (path: YamlPath) => {
    const { line, column } = locateYamlPath(doc, lineCounter, path);
    return { line, column };
  };
  return {
    spec: result.data,
    hypothesisLines: result.data.hypotheses.map((_, i) => locate(['hypotheses', i]).line),
    locate,
  };
}

/** A choice field left out reads better as "missing required field" than as an invalid option. */
function withMissingFields(issues: readonly z.core.$ZodIssue[], data: unknown): z.core.$ZodIssue[] {
  return issues.map((issue) => {
    if (issue.code !== 'invalid_value' || valueAt(data, issue.path) !== undefined) return issue;
    const last = issue.path.at(-1);
    const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return { ...issue, message: `missing required field "${String(last)}" (one of ${options})` };
  });
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

export interface ParseScenarioOptions extends YamlLimits {
  /**
   * The project folder (default the current folder): files the scenario names must lie inside it,
   * or inside the scenario's own folder, so a scenario from elsewhere cannot make a run read (and
   * send as prompts) any file on the machine.
   */
  root?: string;
  /** Lets named files lie anywhere (`--allow-outside-project`). */
  allowOutsideProject?: boolean;
  /** Reads files named by the scenario (router.path, prompt files); default fs.readFile. */
  readFile?: (path: string) => Promise<string>;
  /**
   * The environment live runs take keys from: every key variable the router config names must be
   * set in it, else a located error (see RouterConfigOptions.env). Not given for simulated runs.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses a scenario and resolves what it points at: `router.path` (relative to the scenario file;
 * problems inside it name that file) and prompt files.
 */
export async function parseScenario(
  text: string,
  file: string,
  options: ParseScenarioOptions = {},
): Promise<Scenario> {
  const read = options.readFile ?? ((path: string) => readFile(path, 'utf8'));
  const { spec, hypothesisLines, locate } = parseScenarioSpec(text, file, options);
  const baseDir = resolve(dirname(file));
  const fileIssue = (path: YamlPath, message: string, cause?: unknown): never => {
    throw new ScenarioError([{ file, ...locate(path), field: formatFieldPath(path), message }], { cause });
  };
  const root = resolve(options.root ?? process.cwd());
  const inside = (dir: string, path: string) => {
    const rel = relative(dir, path);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  /** A file the scenario names: resolved next to it, and kept inside the project unless allowed. */
  const named = (field: YamlPath, given: string): string => {
    const path = resolve(baseDir, given);
    if (!options.allowOutsideProject && !inside(root, path) && !inside(baseDir, path)) {
      fileIssue(
        field,
        `${path} is outside the project folder ${root} (and the scenario's folder): pass --allow-outside-project to read it`,
      );
    }
    return path;
  };

  let router: RouterConfig;
  let routerFile: string | undefined;
  if ('path' in spec.router && typeof spec.router.path === 'string') {
    routerFile = named(['router', 'path'], spec.router.path);
    let routerText: string;
    try {
      routerText = await read(routerFile);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return fileIssue(['router', 'path'], `cannot read router config ${routerFile}: ${why}`, error);
    }
    try {
      router = parseRouterConfig(routerText, routerFile, { env: options.env, maxBytes: options.maxBytes });
    } catch (error) {
      if (error instanceof ConfigError) throw new ScenarioError(error.issues, { cause: error });
      throw error;
    }
  } else {
    // Already validated (with defaults) by the scenario schema's union branch.
    router = routerConfigSchema.parse(spec.router);
    if (options.env) {
      const issues = unsetKeyIssues(router, options.env, file, locate, ['router']);
      if (issues.length > 0) throw new ScenarioError(issues);
    }
  }

  const routeNames = new Set(router.routes.map((r) => r.name));
  const deploymentIds = new Set(router.deployments.map((d) => d.id));
  for (const name of Object.keys(spec.load.routes ?? {})) {
    if (!routeNames.has(name) && !deploymentIds.has(name))
      fileIssue(['load', 'routes', name], `unknown route "${name}" (not in the router config)`);
  }
  const shares = spec.load.streamShare;
  for (const name of Object.keys(typeof shares === 'number' ? {} : (shares.routes ?? {}))) {
    if (!routeNames.has(name) && !deploymentIds.has(name))
      fileIssue(
        ['load', 'streamShare', 'routes', name],
        `unknown route "${name}" (not in the router config)`,
      );
  }

  const promptFiles: Record<number, string[]> = {};
  for (const [index, source] of (spec.load.prompts ?? []).entries()) {
    if (!('file' in source)) continue;
    const path = named(['load', 'prompts', index, 'file'], source.file);
    let content: string;
    try {
      content = await read(path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return fileIssue(['load', 'prompts', index, 'file'], `cannot read prompts ${path}: ${why}`, error);
    }
    const prompts = parsePromptFile(content, path);
    if (typeof prompts === 'string') return fileIssue(['load', 'prompts', index, 'file'], prompts);
    promptFiles[index] = prompts;
  }

  const { router: _ref, ...rest } = spec;
  return {
    ...rest,
    router,
    file,
    ...(routerFile ? { routerFile } : {}),
    hypothesisLines,
    promptFiles,
  };
}

/** Reads and parses a scenario file; an unreadable file is a ScenarioError too. */
export async function loadScenario(path: string, options: ParseScenarioOptions = {}): Promise<Scenario> {
  const read = options.readFile ?? ((p: string) => readFile(p, 'utf8'));
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    const message = `cannot read scenario: ${error instanceof Error ? error.message : String(error)}`;
    throw new ScenarioError([{ file: path, line: 0, column: 0, field: '', message }], { cause: error });
  }
  return parseScenario(text, path, options);
}

/** Prompts from a file: .txt one per line, .jsonl one JSON string (or {prompt}) per line, else a YAML/JSON list. */
export function parsePromptFile(content: string, path: string): string[] | string {
  const fromItem = (item: unknown): string | undefined => {
    if (typeof item === 'string') return item;
    if (item && typeof item === 'object') {
      const record = item as Record<string, unknown>;
      const value = record.prompt ?? record.text ?? record.content;
      if (typeof value === 'string') return value;
    }
    return undefined;
  };
  const ext = extname(path).toLowerCase();
  let prompts: Array<string | undefined>;
  try {
    if (ext === '.txt' || ext === '') {
      prompts = content.split(/\r?\n/).filter((line) => line.trim() !== '');
    } else if (ext === '.jsonl' || ext === '.ndjson') {
      prompts = content
        .split(/\r?\n/)
        .filter((line) => line.trim() !== '')
        .map((line) => fromItem(JSON.parse(line)));
    } else {
      const data: unknown = parseYaml(content);
      if (!Array.isArray(data)) return `prompt file ${path} must hold a list of prompts`;
      prompts = data.map(fromItem);
    }
  } catch (error) {
    return `cannot parse prompts ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (prompts.some((p) => p === undefined))
    return `prompt file ${path}: every entry must be a string or { prompt }`;
  if (prompts.length === 0) return `prompt file ${path} holds no prompts`;
  return prompts as string[];
}

/** A scenario built in code (tests, programmatic use): validated like a file, no file references. */
export function defineScenario(input: unknown, file = '<inline>'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({
      file,
      line: 0,
      column: 0,
      field: formatFieldPath(issue.path as YamlPath),
      message: issue.message,
    }));
    throw new ScenarioError(issues);
  }
  const { router, ...rest } = result.data;
  if ('path' in router && typeof router.path === 'string')
    throw new ScenarioError([
      { file, line: 0, column: 0, field: 'router.path', message: 'use loadScenario for router.path' },
    ]);
  return {
    ...rest,
    router: routerConfigSchema.parse(router),
    file,
    hypothesisLines: [],
    promptFiles: {},
  };
}
