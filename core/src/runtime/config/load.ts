import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { priceFor } from '../cost/prices.ts';
import { ConfigError, type ConfigIssue, formatConfigIssue } from './errors.ts';
import { formatFieldPath, locateYamlPath, yamlErrorIssues, zodIssuesToConfigIssues } from './locate.ts';
import { type DeploymentConfig, type RouterConfig, routerConfigSchema } from './schema.ts';

type ParsedYaml = ReturnType<typeof parseYamlDocument>;

/**
 * Parses YAML (or JSON, which the YAML parser reads too) into plain data, keeping the document and
 * line counter for locating later errors. A syntax error (reported alone: a broken document has no
 * reliable values to validate) or an unresolvable document is thrown as a `Failure` (a ConfigError
 * or a subclass) with file:line:column locations.
 */
export function parseYamlDocument(
  text: string,
  file: string,
  Failure: new (issues: readonly ConfigIssue[], options?: { cause?: unknown }) => ConfigError = ConfigError,
): { doc: Document; lineCounter: LineCounter; data: unknown } {
  const lineCounter = new LineCounter();
  // prettyErrors off: messages stay one line; locations come from the line counter instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) throw new Failure(yamlErrorIssues(doc, lineCounter, file));
  try {
    return { doc, lineCounter, data: doc.toJS() };
  } catch (error) {
    // e.g. an alias bomb or an unresolved alias
    const message = error instanceof Error ? error.message : String(error);
    throw new Failure([{ file, line: 1, column: 1, field: '', message }], { cause: error });
  }
}

/**
 * Parses YAML or JSON and validates it against `schema`. Every problem is collected into one
 * ConfigError with file:line:column locations.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  return validateYaml(parseYamlDocument(text, file), file, schema);
}

function validateYaml<S extends z.ZodType>(
  { doc, lineCounter, data }: ParsedYaml,
  file: string,
  schema: S,
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  if (data === null || data === undefined) {
    throw new ConfigError([{ file, line: 1, column: 1, field: '', message: 'the document is empty' }]);
  }
  throw new ConfigError(zodIssuesToConfigIssues(result.error.issues, doc, lineCounter, file));
}

export interface RouterConfigLoadOptions {
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
  options: RouterConfigLoadOptions = {},
): RouterConfig {
  const parsed = parseYamlDocument(text, file);
  const config = validateYaml(parsed, file, routerConfigSchema);
  const warn = options.onWarning ?? emitConfigWarning;
  config.deployments.forEach((deployment, i) => {
    if (deployment.price ?? priceFor(deployment.model, config.prices)) return;
    const path = ['deployments', i, 'model'];
    const { line, column } = locateYamlPath(parsed.doc, parsed.lineCounter, path);
    warn({
      file,
      line,
      column,
      field: formatFieldPath(path),
      message: `model "${deployment.model}" of deployment "${deployment.id}" has no price: its calls are counted as $0; give it a price (price: { input, output } on the deployment, or prices["${deployment.model}"])`,
    });
  });
  return config;
}

/** Reads and parses a router config file; an unreadable file is a ConfigError too. */
export async function loadRouterConfig(
  path: string,
  options: RouterConfigLoadOptions = {},
): Promise<RouterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const message = `cannot read config: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ file: path, line: 0, column: 0, field: '', message }], { cause: error });
  }
  return parseRouterConfig(text, path, options);
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
