import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../runtime/config/errors.ts';
import { parseYamlDocument, readConfigText, resolveApiKey } from '../runtime/config/load.ts';
import { formatFieldPath, locateYamlPath, zodIssuesToConfigIssues } from '../runtime/config/locate.ts';
import { apiKeySourceSchema, type RouterConfig, routerConfigSchema } from '../runtime/config/schema.ts';

/**
 * A gateway config is a router config with one more top-level section, `gateway:`, for what only a
 * server needs: the virtual API keys of its tenants, body limits, the drain deadline, logging.
 * Virtual keys are never written in clear: a key is stored as its SHA-256 (`hash: sha256:<hex>`) or
 * named by the environment variable or secret holding it (`key: { env: NAME }`), like provider keys.
 */

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/;

export const virtualKeySchema = z
  .strictObject({
    /** A label for logs and metrics (never the key itself). */
    name: z.string().min(1),
    /** `sha256:` and the lowercase hex SHA-256 of the key: `printf %s "$KEY" | sha256sum`. */
    hash: z
      .string()
      .regex(
        SHA256_HASH,
        'expected "sha256:" followed by 64 lowercase hex digits (the key is never written in clear)',
      )
      .optional(),
    /** Where the key itself lives, as for provider keys: `{ env: NAME }` or `{ secret: NAME }`. */
    key: apiKeySourceSchema.optional(),
    /** Who pays: the router's budgets are kept per tenant. */
    tenant: z.string().min(1),
    tier: z.string().optional(),
    tags: z.array(z.string()).default([]),
    /** Routes (or deployment ids) this key may use; all when omitted. */
    routes: z.array(z.string().min(1)).min(1).optional(),
    limits: z
      .strictObject({
        /** Requests per minute. */
        rpm: z.number().positive().optional(),
        /** Tokens (input + output) per minute. */
        tpm: z.number().positive().optional(),
      })
      .default({}),
  })
  .refine((k) => (k.hash === undefined) !== (k.key === undefined), {
    message: 'give exactly one of `hash` or `key`',
    path: ['hash'],
  });

export const gatewaySettingsSchema = z.strictObject({
  /** Virtual API keys. With none, the gateway needs no key (and binds only to loopback). */
  keys: z.array(virtualKeySchema).default([]),
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  /** On SIGTERM, how long in-flight requests and streams may run on before they are cut. */
  drainMs: z.number().nonnegative().default(10_000),
  /** Write the prompt text into the per-request log line (off: logs carry no request content). */
  logPrompts: z.boolean().default(false),
  /** Bearer token guarding /metrics (`{ env: NAME }`); without it /metrics answers loopback peers only. */
  adminToken: apiKeySourceSchema.optional(),
});

const gatewaySectionSchema = z.strictObject({
  gateway: gatewaySettingsSchema.default(gatewaySettingsSchema.parse({})),
});

export type VirtualKeyConfig = z.output<typeof virtualKeySchema>;
export type GatewaySettings = z.output<typeof gatewaySettingsSchema>;
export type GatewaySettingsInput = z.input<typeof gatewaySettingsSchema>;

export interface GatewayConfig {
  router: RouterConfig;
  gateway: GatewaySettings;
}

export interface SecretSources {
  env?: Readonly<Record<string, string | undefined>>;
  secrets?: (name: string) => string | undefined;
}

/**
 * Parses a gateway config (YAML or JSON): the router part against the router schema, the `gateway:`
 * section against its own; every problem is reported at once, located as `file:line:column field`.
 * Cross-checks too: a key's routes must exist, and a key named by `{ env }` must be set.
 */
export function parseGatewayConfig(text: string, file: string, sources: SecretSources = {}): GatewayConfig {
  const { doc, lineCounter, data } = parseYamlDocument(text, file);
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError([
      { file, line: 1, column: 1, field: '', message: 'expected a mapping (a router config)' },
    ]);
  const { gateway, ...routerPart } = data as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const router = routerConfigSchema.safeParse(routerPart);
  if (!router.success) issues.push(...zodIssuesToConfigIssues(router.error.issues, doc, lineCounter, file));
  const section = gatewaySectionSchema.safeParse(gateway === undefined ? {} : { gateway });
  if (!section.success) issues.push(...zodIssuesToConfigIssues(section.error.issues, doc, lineCounter, file));
  if (router.success && section.success) {
    const at = (path: (string | number)[], message: string) => {
      const { line, column } = locateYamlPath(doc, lineCounter, path);
      issues.push({ file, line, column, field: formatFieldPath(path), message });
    };
    const names = new Set([
      ...router.data.routes.map((r) => r.name),
      ...router.data.deployments.flatMap((d) => [d.id, d.model]),
    ]);
    section.data.gateway.keys.forEach((key, i) => {
      key.routes?.forEach((route, j) => {
        if (!names.has(route))
          at(['gateway', 'keys', i, 'routes', j], `unknown route or deployment "${route}"`);
      });
      if (key.key && resolveApiKey({ apiKey: key.key }, sources) === undefined)
        at(['gateway', 'keys', i, 'key'], `${describeSource(key.key)} is not set`);
    });
    const token = section.data.gateway.adminToken;
    if (token && resolveApiKey({ apiKey: token }, sources) === undefined)
      at(['gateway', 'adminToken'], `${describeSource(token)} is not set`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { router: router.data!, gateway: section.data!.gateway };
}

function describeSource(source: { env: string } | { secret: string }): string {
  return 'env' in source ? `environment variable ${source.env}` : `secret ${source.secret}`;
}

/** Reads and parses a gateway config file; an unreadable file is a ConfigError too. */
export async function loadGatewayConfig(path: string, sources: SecretSources = {}): Promise<GatewayConfig> {
  return parseGatewayConfig(await readConfigText(path), path, sources);
}
