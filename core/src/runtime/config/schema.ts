import { z } from 'zod';
import { priceFor } from '../cost/prices.ts';
import { ERROR_KINDS } from '../errors.ts';

/**
 * The router configuration: one YAML or JSON file. Keys never appear here in clear; a deployment
 * names the environment variable (or secret) that holds its key.
 */

const errorKind = z.enum(ERROR_KINDS);

export const priceSchema = z.strictObject({
  /** USD per million input tokens. */
  input: z.number().nonnegative(),
  /** USD per million output tokens. */
  output: z.number().nonnegative(),
  /** USD per million cached input tokens (defaults to `input`). */
  cachedInput: z.number().nonnegative().optional(),
});

export const apiKeySourceSchema = z.union(
  [z.strictObject({ env: z.string().min(1) }), z.strictObject({ secret: z.string().min(1) })],
  {
    // Never echo the value: a plain string here is most likely the key itself.
    error: (issue) =>
      typeof issue.input === 'string'
        ? 'API keys are never written in the config in clear: use { env: NAME } (or { secret: NAME }) instead'
        : 'expected { env: NAME } or { secret: NAME }',
  },
);

const IN_CLEAR = 'credentials are never written in the config in clear';

/** Headers that carry a credential: their value belongs in `apiKey: { env: NAME }`, never here. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'api-key',
  'x-api-key',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'cookie',
]);

/** A value shaped like a provider key or an HTTP credential, whatever header it sits in. */
const CREDENTIAL_VALUE = /\b(sk|rk|pk)-[A-Za-z0-9_-]{6,}|^\s*(Bearer|Basic)\s+\S/i;

/** Query parameters that carry a key (Google's `?key=`, `?api_key=`, tokens). */
const CREDENTIAL_PARAMS = new Set(['key', 'api_key', 'api-key', 'apikey', 'access_token', 'token']);

// The messages never echo the value: it is most likely the secret itself.
const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    if (CREDENTIAL_HEADERS.has(name.toLowerCase()) || CREDENTIAL_VALUE.test(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `${IN_CLEAR}: the key goes in apiKey: { env: NAME } (or { secret: NAME }), and the adapter sends it in the provider's auth header`,
      });
    }
  }
});

const baseUrlSchema = z.url().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return; // z.url() has already said so
  }
  const keyParam = [...url.searchParams.keys()].some((name) => CREDENTIAL_PARAMS.has(name.toLowerCase()));
  if (url.username || url.password || keyParam) {
    ctx.addIssue({
      code: 'custom',
      message: `${IN_CLEAR}: no user:password@ or key parameter in a URL; the key goes in apiKey: { env: NAME }`,
    });
  }
});

export const deploymentSchema = z.strictObject({
  id: z.string().min(1),
  provider: z.enum(['openai', 'openai-compatible', 'anthropic', 'ollama']),
  model: z.string().min(1),
  baseURL: baseUrlSchema.optional(),
  apiKey: apiKeySourceSchema.optional(),
  /** Context window in tokens; requests estimated larger are skipped before the call. */
  contextWindow: z.number().int().positive().optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  /** OpenAI reasoning model: max_completion_tokens instead of max_tokens, fixed temperature. Detected from the model name when omitted. */
  reasoning: z.boolean().optional(),
  weight: z.number().nonnegative().default(1),
  tier: z.string().optional(),
  tags: z.array(z.string()).default([]),
  price: priceSchema.optional(),
  headers: headersSchema.optional(),
  /**
   * Which OpenAI API the deployment is called through: `chat` (Chat Completions, the default) or
   * `responses` (the Responses API). OpenAI and OpenAI-compatible deployments only.
   */
  api: z.enum(['chat', 'responses']).optional(),
});

export const retrySchema = z.strictObject({
  /** Attempts per deployment, first one included. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  baseDelayMs: z.number().nonnegative().default(250),
  maxDelayMs: z.number().nonnegative().default(8_000),
  jitter: z.enum(['full', 'none']).default('full'),
  /** Obey Retry-After up to this long; a longer wait moves on to the fallback instead of sleeping. */
  retryAfterCapMs: z.number().nonnegative().default(10_000),
  /** Error kinds retried on the same deployment (default: the kinds marked retryable). */
  retryOn: z.array(errorKind).optional(),
  /** Retries may be at most this share of recent requests (a retry budget against retry storms). */
  budget: z
    .strictObject({
      ratio: z.number().min(0).max(10).default(0.2),
      /** Retries always allowed per second regardless of the ratio, so low traffic can still retry. */
      minRetriesPerSecond: z.number().nonnegative().default(5),
      windowMs: z.number().positive().default(10_000),
    })
    .optional(),
});

export const timeoutsSchema = z.strictObject({
  /** Until response headers arrive (covers connect too). */
  headersMs: z.number().positive().default(30_000),
  /** Until the first streamed token. */
  firstTokenMs: z.number().positive().default(30_000),
  /** Longest gap between two stream chunks. */
  idleMs: z.number().positive().default(30_000),
  /** Longest gap between two chunks of a non-streamed response body, once its headers arrived. */
  bodyIdleMs: z.number().positive().default(30_000),
  /** One attempt, body read included. */
  attemptMs: z.number().positive().default(120_000),
  /** The whole request, all attempts and waits included. */
  totalMs: z.number().positive().default(300_000),
});

export const breakerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  mode: z.enum(['consecutive', 'rate']).default('consecutive'),
  /** consecutive mode: failures in a row that open the breaker. */
  consecutiveFailures: z.number().int().positive().default(5),
  /** rate mode: failure share over the window that opens it, once minimumRequests were seen. */
  failureRate: z.number().min(0).max(1).default(0.5),
  minimumRequests: z.number().int().positive().default(10),
  windowMs: z.number().positive().default(30_000),
  /** How long the breaker stays open before letting one probe through. */
  openMs: z.number().positive().default(30_000),
  /** Error kinds that count as failures of the deployment (default: server-side kinds). */
  countKinds: z.array(errorKind).optional(),
  /**
   * A success slower than this counts as a slow call (default: none; an LLM call's duration grows
   * with its answer). A hedge loser cancelled after outliving the deployment's expected latency is
   * always a slow call. Slow calls extend a run of failures (consecutive mode) and a slow probe
   * re-opens a half-open breaker.
   */
  slowCallMs: z.number().positive().optional(),
  /** rate mode: slow-call share over the window that opens the breaker, once minimumRequests were seen. */
  slowCallRate: z.number().min(0).max(1).default(0.5),
});

/** Keeps a deployment out of rotation when its provider says so (state per deployment, shared). */
export const cooldownSchema = z.strictObject({
  /** Honour Retry-After (429, 503, 529) across requests: the deployment is skipped until then. */
  retryAfter: z.boolean().default(true),
  /** The longest cooldown a Retry-After may impose (a provider asking for a day gets this). */
  maxMs: z.number().nonnegative().default(600_000),
  /** How long a deployment whose quota is exhausted (insufficient_quota, 402) is skipped. */
  quotaExhaustedMs: z.number().nonnegative().default(600_000),
});

export const hedgeSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Fixed delay in ms, or 'p95' for the observed p95 latency of the primary deployment. */
  delay: z.union([z.number().nonnegative(), z.literal('p95')]).default('p95'),
  /** Delay used for 'p95' until enough samples exist. */
  fallbackDelayMs: z.number().nonnegative().default(2_000),
  maxHedges: z.number().int().min(1).max(3).default(1),
});

export const streamingSchema = z.strictObject({
  /** After the first token a failure is surfaced with what was streamed; never silently restarted. */
  afterFirstToken: z.enum(['surface-error']).default('surface-error'),
});

export const policiesSchema = z.strictObject({
  retry: retrySchema.default(retrySchema.parse({})),
  timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
  breaker: breakerSchema.default(breakerSchema.parse({})),
  hedge: hedgeSchema.default(hedgeSchema.parse({})),
  streaming: streamingSchema.default(streamingSchema.parse({})),
  cooldown: cooldownSchema.default(cooldownSchema.parse({})),
  /** Error kinds that move to the next deployment of the chain (default: the kinds marked fallbackable). */
  fallbackOn: z.array(errorKind).optional(),
});

/**
 * The same object with every field optional and no defaults: a route's policy overrides must
 * carry only what the user wrote, or the defaults would silently replace the global settings.
 */
function overridesOf<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const inner = field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType);
    shape[key] = inner.optional();
  }
  return z.strictObject(shape);
}

/** Settings of state kept per deployment: one value for every route, so a route cannot override them. */
function perDeploymentOnly(section: string) {
  return z
    .never({
      error: `a route cannot set its own ${section}: its state is kept per deployment and shared by every route that uses the deployment; set it once in the global policies.${section}`,
    })
    .optional();
}

export const policyOverridesSchema = z.strictObject({
  /** A route's retry.budget is a retry budget of its own: its requests and retries are counted apart. */
  retry: overridesOf(retrySchema).optional(),
  timeouts: overridesOf(timeoutsSchema).optional(),
  breaker: perDeploymentOnly('breaker'),
  hedge: overridesOf(hedgeSchema).optional(),
  streaming: overridesOf(streamingSchema).optional(),
  cooldown: perDeploymentOnly('cooldown'),
  fallbackOn: z.array(errorKind).optional(),
});

type RouteLevelPolicies = Omit<PoliciesConfig, 'breaker' | 'cooldown'>;
export type PolicyOverrides = {
  [K in keyof RouteLevelPolicies]?: RouteLevelPolicies[K] extends readonly unknown[] | undefined
    ? RouteLevelPolicies[K]
    : Partial<RouteLevelPolicies[K]>;
};

export const routeMatchSchema = z.strictObject({
  task: z.string().optional(),
  tier: z.string().optional(),
  /** All of these tags must be on the request. */
  tags: z.array(z.string()).optional(),
});

export const routeSchema = z.strictObject({
  name: z.string().min(1),
  /** Route chosen when the request's `model` is this name, or when `match` fits the request. */
  match: routeMatchSchema.optional(),
  strategy: z.enum(['ordered', 'weighted', 'round-robin', 'least-latency', 'lowest-cost']).default('ordered'),
  /** Deployment ids, in order for the 'ordered' strategy. */
  deployments: z.array(z.string().min(1)).min(1),
  /** Tried, in order, when every deployment above failed with a fallbackable error. */
  fallbacks: z.array(z.string().min(1)).default([]),
  /** Special chains: context_overflow → larger-context models, content_filtered → another provider. */
  onContextOverflow: z.array(z.string().min(1)).default([]),
  onContentFiltered: z.array(z.string().min(1)).default([]),
  /** Overrides of the global policies for this route, section by section. */
  policies: policyOverridesSchema.optional(),
});

export const budgetSchema = z.strictObject({
  /** Tenant name, or '*' for each tenant separately. */
  tenant: z.string().min(1),
  period: z.enum(['minute', 'hour', 'day', 'month']).default('day'),
  limitUsd: z.number().positive(),
});

export const cacheSchema = z.strictObject({
  enabled: z.boolean().default(false),
  ttlMs: z.number().positive().default(300_000),
});

export const routerConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    deployments: z.array(deploymentSchema).min(1),
    routes: z.array(routeSchema).default([]),
    /** Name of the route used when a request names none and no rule matches (default: the first route). */
    defaultRoute: z.string().optional(),
    policies: policiesSchema.default(policiesSchema.parse({})),
    /** Price overrides by model name, USD per million tokens. */
    prices: z.record(z.string(), priceSchema).default({}),
    budgets: z.array(budgetSchema).default([]),
    cache: cacheSchema.default(cacheSchema.parse({})),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.deployments.forEach((d, i) => {
      if (ids.has(d.id))
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'id'],
          message: `duplicate deployment id "${d.id}"`,
        });
      ids.add(d.id);
      if (d.api && d.provider !== 'openai' && d.provider !== 'openai-compatible')
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'api'],
          message: `api applies to openai and openai-compatible deployments, not ${d.provider}`,
        });
    });
    config.routes.forEach((route, i) => {
      for (const field of ['deployments', 'fallbacks', 'onContextOverflow', 'onContentFiltered'] as const) {
        route[field].forEach((id, j) => {
          if (!ids.has(id))
            ctx.addIssue({
              code: 'custom',
              path: ['routes', i, field, j],
              message: `unknown deployment "${id}"`,
            });
        });
      }
    });
    // Budgets apply to tenants, whatever route they call: with any budget, an unpriced deployment
    // would cost $0 and let every request through every budget.
    if (config.budgets.length > 0) {
      config.deployments.forEach((d, i) => {
        if (d.price ?? priceFor(d.model, config.prices)) return;
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'model'],
          message: `model "${d.model}" of deployment "${d.id}" has no price, and budgets are configured: its calls would cost $0 and pass every budget; give it a price (price: { input, output } on the deployment, or prices["${d.model}"])`,
        });
      });
    }
    if (config.defaultRoute && !config.routes.some((r) => r.name === config.defaultRoute)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultRoute'],
        message: `unknown route "${config.defaultRoute}"`,
      });
    }
  });

export type RouterConfigInput = z.input<typeof routerConfigSchema>;
export type RouterConfig = z.output<typeof routerConfigSchema>;
export type DeploymentConfig = z.output<typeof deploymentSchema>;
export type RouteConfig = Omit<z.output<typeof routeSchema>, 'policies'> & { policies?: PolicyOverrides };
export type PoliciesConfig = z.output<typeof policiesSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type BreakerConfig = z.output<typeof breakerSchema>;
export type CooldownConfig = z.output<typeof cooldownSchema>;
export type HedgeConfig = z.output<typeof hedgeSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type Price = z.output<typeof priceSchema>;
