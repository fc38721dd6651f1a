import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { priceFor } from '../cost/prices.ts';
import { ConfigError, type ConfigIssue, formatConfigIssue } from './errors.ts';
import { DEFAULT_MAX_YAML_BYTES, type YamlLimits } from './limits.ts';
import {
  formatFieldPath,
  locateYamlPath,
  type YamlPath,
  yamlErrorIssues,
  zodIssuesToConfigIssues,
} from './locate.ts';
import { type DeploymentConfig, type RouterConfig, routerConfigSchema } from './schema.ts';

export { DEFAULT_MAX_YAML_BYTES, type YamlLimits } from './limits.ts';

/**
 * Parses YAML (or JSON, which the YAML parser reads too) into plain data, keeping the document and
 * line counter for locating later errors. A syntax error (reported alone: a broken document has no
 * reliable values to validate), a tag the parser does not know (`!include`, `!!js/function`: the
 * parser would read them as plain strings), a file over the size limit (a 58 MB config took over a
 * minute and 2.4 GB) or an unresolvable document is thrown as a `Failure` (a ConfigError or a
 * subclass) with file:line:column locations.
 */
export function parseYamlDocument(
  text: string,
  file: string,
  Failure: new (issues: readonly ConfigIssue[], options?: { cause?: unknown }) => ConfigError = ConfigError,
  limits: YamlLimits = {},
): { doc: Document; lineCounter: LineCounter; data: unknown } {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_YAML_BYTES;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    const n = (value: number) => value.toLocaleString('en-US');
    const message = `the file has ${n(bytes)} bytes, over the limit of ${n(maxBytes)} (raise it with --max-yaml-bytes)`;
    throw new Failure([{ file, line: 0, column: 0, field: '', message }]);
  }
  const lineCounter = new LineCounter();
  // prettyErrors off: messages stay one line; locations come from the line counter instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) throw new Failure(yamlErrorIssues(doc, lineCounter, file));
  const unknownTags = doc.warnings.filter((warning) => warning.code === 'TAG_RESOLVE_FAILED');
  if (unknownTags.length > 0) {
    throw new Failure(
      unknownTags.map((warning) => {
        const { line, col } = lineCounter.linePos(warning.pos[0]);
        const tag = text.slice(warning.pos[0], warning.pos[1]).trim();
        const message = `unknown YAML tag ${tag} (only the standard tags are read)`;
        return { file, line, column: col, field: '', message };
      }),
    );
  }
  try {
    return { doc, lineCounter, data: doc.toJS() };
  } catch (error) {
    // e.g. an alias bomb or an unresolved alias
    const message = error instanceof Error ? error.message : String(error);
    throw new Failure([{ file, line: 1, column: 1, field: '', message }], { cause: error });
  }
}

/** Where a data path of a parsed file is, 1-based. */
export type Locate = (path: YamlPath) => { line: number; column: number };

/** parseYamlWithSchema that also hands back a locator, for checks made after validation. */
function parseLocated<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  limits: YamlLimits = {},
): { value: z.output<S>; locate: Locate } {
  const { doc, lineCounter, data } = parseYamlDocument(text, file, ConfigError, limits);
  const result = schema.safeParse(data);
  if (result.success) {
    const locate: Locate = (path) => {
      const { line, column } = locateYamlPath(doc, lineCounter, path);
      return { line, column };
    };
    return { value: result.data, locate };
  }
  if (data === null || data === undefined) {
    throw new ConfigError([{ file, line: 1, column: 1, field: '', message: 'the document is empty' }]);
  }
  throw new ConfigError(zodIssuesToConfigIssues(result.error.issues, doc, lineCounter, file));
}

/**
 * Parses YAML or JSON and validates it against `schema`. Every problem is collected into one
 * ConfigError with file:line:column locations.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  limits: YamlLimits = {},
): z.output<S> {
  return parseLocated(text, file, schema, limits).value;
}

export interface RouterConfigOptions extends YamlLimits {
  /**
   * The environment the config's keys will be read from. Given when the config is about to call
   * real providers: every `apiKey: { env: NAME }` must then be set in it, or the load fails with a
   * ConfigError at that line (an unset key would otherwise reach the provider as no key at all).
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Where warnings go (a config that works but probably not as meant, e.g. a model with no price).
   * Default: process.emitWarning, which Node prints on stderr.
   */
  onWarning?: (issue: ConfigIssue) => void;
}

function emitConfigWarning(issue: ConfigIssue): void {
  process.emitWarning(formatConfigIssue(issue), { type: 'SwitchyardConfigWarning' });
}

/**
 * The router config in `text` (YAML or JSON), with defaults applied; `file` names it in errors and
 * warnings. A model missing from the price table (and given no price) is warned about: its calls
 * cost $0 in every trace and report (with budgets configured it is an error, see the schema).
 */
export function parseRouterConfig(
  text: string,
  file: string,
  options: RouterConfigOptions = {},
): RouterConfig {
  const { value: config, locate } = parseLocated(text, file, routerConfigSchema, options);
  if (options.env) {
    const issues = unsetKeyIssues(config, options.env, file, locate);
    if (issues.length > 0) throw new ConfigError(issues);
  }
  const warn = options.onWarning ?? emitConfigWarning;
  config.deployments.forEach((deployment, i) => {
    if (deployment.price ?? priceFor(deployment.model, config.prices)) return;
    const path = ['deployments', i, 'model'];
    warn({
      file,
      ...locate(path),
      field: formatFieldPath(path),
      message: `model "${deployment.model}" of deployment "${deployment.id}" has no price: its calls are counted as $0; give it a price (price: { input, output } on the deployment, or prices["${deployment.model}"])`,
    });
  });
  return config;
}

/** The text of a config file; an unreadable file is a ConfigError naming it. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const message = `cannot read config: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ file: path, line: 0, column: 0, field: '', message }], { cause: error });
  }
}

/** Reads and parses a router config file; an unreadable file is a ConfigError too. */
export async function loadRouterConfig(
  path: string,
  options: RouterConfigOptions = {},
): Promise<RouterConfig> {
  return parseRouterConfig(await readConfigText(path), path, options);
}

/** The deployments whose `apiKey: { env: NAME }` names a variable that is unset or empty in `env`. */
export function unsetKeyVariables(
  config: Pick<RouterConfig, 'deployments'>,
  env: Readonly<Record<string, string | undefined>>,
): Array<{ index: number; deployment: string; variable: string }> {
  const unset: Array<{ index: number; deployment: string; variable: string }> = [];
  config.deployments.forEach((deployment, index) => {
    const source = deployment.apiKey;
    if (source && 'env' in source && !env[source.env])
      unset.push({ index, deployment: deployment.id, variable: source.env });
  });
  return unset;
}

/**
 * One located issue per unset key variable. `prefix` is where the router config sits in its file
 * (['router'] for one written inline in a scenario).
 */
export function unsetKeyIssues(
  config: Pick<RouterConfig, 'deployments'>,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
  locate: Locate,
  prefix: YamlPath = [],
): ConfigIssue[] {
  return unsetKeyVariables(config, env).map(({ index, deployment, variable }) => {
    const path = [...prefix, 'deployments', index, 'apiKey', 'env'];
    return {
      file,
      ...locate(path),
      field: formatFieldPath(path),
      message: `environment variable ${variable} is not set (deployment "${deployment}" takes its key from it)`,
    };
  });
}

export interface ApiKeySources {
  /** Looked up for `apiKey: { env: NAME }` (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Looked up for `apiKey: { secret: NAME }` (a secret manager, a mounted file, …). */
  secrets?: Readonly<Record<string, string | undefined>> | ((name: string) => string | undefined);
}

/**
 * The API key of a deployment, from where its config says it lives. Undefined when the deployment
 * names no key (e.g. Ollama) or the named variable/secret is unset or empty; the caller decides
 * whether that is an error, since some providers need no key.
 */
export function resolveApiKey(
  deployment: Pick<DeploymentConfig, 'apiKey'>,
  sources: ApiKeySources = {},
): string | undefined {
  const source = deployment.apiKey;
  if (!source) return undefined;
  let value: string | undefined;
  if ('env' in source) {
    value = (sources.env ?? process.env)[source.env];
  } else {
    const { secrets } = sources;
    value = typeof secrets === 'function' ? secrets(source.secret) : secrets?.[source.secret];
  }
  return value === '' ? undefined : value;
}
