import { z } from 'zod';
import { durationSchema, faultSchema } from '../faults/chaos/rule-format.ts';
import { type RouterConfig, routerConfigSchema } from '../runtime/config/schema.ts';
import { ERROR_KINDS } from '../runtime/errors.ts';

export type { FaultEntry, FaultSpec } from '../faults/chaos/rule-format.ts';
export {
  DURATION_PATTERN,
  durationSchema,
  faultSchema,
  faultTargetSchema,
  parseDuration,
} from '../faults/chaos/rule-format.ts';

/**
 * The scenario file format (scenarios/*.yaml): a router config, a load, a fault timeline on a
 * shared clock, and the hypotheses the run must confirm. `scenarioJsonSchema()` turns this schema
 * into the JSON Schema editors read through each file's `$schema` line.
 */

const share = z.number().min(0).max(1);
const weight = z.number().nonnegative();
/** name → relative weight, e.g. `{ acme: 3, globex: 1 }`. */
const weightsSchema = z.record(z.string().min(1), weight);

// ---------------------------------------------------------------------------------------------
// Load

const intRange = z
  .tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])
  .refine(([min, max]) => min <= max, { error: 'the range must be [min, max] with min <= max' });

export const promptSourceSchema = z.union([
  z.strictObject({
    /** Faker-made prompts whose length in words is drawn uniformly from [min, max]. */
    words: intRange,
    /** Share of these requests that carry a (faker-made) system prompt too. */
    systemShare: share.default(0),
    weight: weight.default(1),
  }),
  z.strictObject({
    /** A file of prompts, relative to the scenario file: one per line (.txt), a YAML/JSON list, or JSONL. */
    file: z.string().min(1),
    weight: weight.default(1),
  }),
]);

export const tagSetSchema = z.strictObject({
  tags: z.array(z.string().min(1)),
  weight: weight.default(1),
});

export const loadSchema = z
  .strictObject({
    /** Number of requests to send; with `duration` too, whichever ends first. */
    requests: z.number().int().positive().optional(),
    /** How long arrivals go on (simulated time in virtual mode). */
    duration: durationSchema.optional(),
    /** Open loop: arrivals per second, whatever the router's latency. */
    rate: z.number().positive().optional(),
    /** Open loop: 'poisson' (exponential gaps, seeded) or 'uniform' (fixed gaps). */
    arrivals: z.enum(['poisson', 'uniform']).default('poisson'),
    /** Closed loop: this many callers, each sending its next request when the previous one ends. */
    concurrency: z.number().int().positive().optional(),
    /** Closed loop: pause between a caller's requests. */
    thinkTime: durationSchema.optional(),
    /** The prompt mix; default faker-made prompts of 8 to 60 words. */
    prompts: z.array(promptSourceSchema).min(1).optional(),
    /**
     * Share of requests that are streamed: one number, or a default with per-route and per-tenant
     * shares (a tenant's share wins over its route's).
     */
    streamShare: z
      .union([
        share,
        z.strictObject({
          default: share.default(0),
          routes: z.record(z.string().min(1), share).optional(),
          tenants: z.record(z.string().min(1), share).optional(),
        }),
      ])
      .default(0),
    /** Route names (the request's `model`) → weight; default the config's default route. */
    routes: weightsSchema.optional(),
    tenants: weightsSchema.optional(),
    tasks: weightsSchema.optional(),
    tiers: weightsSchema.optional(),
    tags: z.array(tagSetSchema).optional(),
    /** Output token cap per request: a number, or [min, max] drawn per request. */
    maxOutputTokens: z.union([z.number().int().positive(), intRange]).optional(),
    /** After arrivals end, how long in-flight requests may still take before the run is cut short. */
    drainTimeout: durationSchema.default(600_000),
  })
  .superRefine((load, ctx) => {
    if (load.requests === undefined && load.duration === undefined)
      ctx.addIssue({ code: 'custom', path: ['requests'], message: 'give `requests`, `duration` or both' });
    if (load.rate !== undefined && load.concurrency !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['concurrency'],
        message: 'give either `rate` (open loop) or `concurrency` (closed loop), not both',
      });
    if (load.rate === undefined && load.concurrency === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['rate'],
        message: 'give `rate` (arrivals per second, open loop) or `concurrency` (closed loop)',
      });
  });

// ---------------------------------------------------------------------------------------------
// Simulator

export const latencyProfileSchema = z.strictObject({
  ttftMedianMs: z.number().nonnegative().optional(),
  ttftSigma: z.number().nonnegative().optional(),
  tokensPerSecond: z.number().nonnegative().optional(),
  tokensPerSecondSd: z.number().nonnegative().optional(),
});

export const simulatorSchema = z.strictObject({
  /** Overrides of the models' latency profiles by model id ('*' = every model); unset fields keep the model's own. */
  latency: z.record(z.string().min(1), latencyProfileSchema).optional(),
  /** Simulator seed (default derived from the scenario seed). */
  seed: z.number().int().optional(),
});

// ---------------------------------------------------------------------------------------------
// Fault timeline: the one rule format (faults/chaos/rule-format.ts), shared with serve and the proxy.

// ---------------------------------------------------------------------------------------------
// Hypotheses

export const PHASES = ['overall', 'before', 'during', 'after'] as const;
export type Phase = (typeof PHASES)[number];

/** Which requests a hypothesis looks at (all of them by default). */
export const requestFilterSchema = z.strictObject({
  /** All of these tags must be on the request. */
  tags: z.array(z.string()).optional(),
  tenant: z.string().optional(),
  route: z.string().optional(),
  stream: z.boolean().optional(),
});

const common = {
  /** Names it in reports (default `<index>:<type>`). */
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  /**
   * A run with no evidence for this hypothesis (no retry after a Retry-After, no breaker opened, no
   * stream failed mid-way…) makes it inconclusive, which fails the run unless this allows it:
   * `true` for any lack of evidence, `without-traffic` only when it selects no request at all (a
   * streams-only hypothesis in a run with no streams, e.g. `run --stream-share 0`).
   */
  allowInconclusive: z.union([z.boolean(), z.literal('without-traffic')]).default(false),
  /** before/during/after are relative to the union of the fault windows. */
  phase: z.enum(PHASES).default('overall'),
  where: requestFilterSchema.optional(),
};

const breakerKinds = z.array(z.enum(ERROR_KINDS)).optional();

export const hypothesisSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('success_rate'), ...common, atLeast: share }),
  z.strictObject({
    type: z.literal('latency'),
    ...common,
    percentile: z.enum(['p50', 'p95', 'p99']),
    /** 'total': from the call to its end; 'ttft': to the first token (streams), to the answer otherwise. */
    metric: z.enum(['total', 'ttft']).default('total'),
    atMost: durationSchema,
    /** Only successful requests count (a fast failure is not a fast answer). */
    successesOnly: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal('cost_per_success'), ...common, atMostUsd: z.number().nonnegative() }),
  z.strictObject({
    type: z.literal('wasted_spend'),
    ...common,
    /** Total USD spent on work nobody used (hedge losers, failed partial streams). */
    atMostUsd: z.number().nonnegative().optional(),
    /** Or as a share of all spend. */
    atMostShare: share.optional(),
  }),
  z.strictObject({
    type: z.literal('max_attempts_per_request'),
    ...common,
    atMost: z.number().int().positive(),
  }),
  z.strictObject({
    type: z.literal('retry_after_respected'),
    ...common,
    /** Slack for clock granularity. */
    toleranceMs: z.number().nonnegative().default(0),
  }),
  z.strictObject({
    type: z.literal('non_retryable_not_retried'),
    ...common,
    /** Error kinds that must never be retried on the same deployment (default: the kinds not retryable by default). */
    kinds: breakerKinds,
  }),
  z.strictObject({
    type: z.literal('breaker_opens_within'),
    ...common,
    /** At most this many consecutive counted failures on a closed breaker. */
    failures: z.number().int().positive(),
    deployment: z.string().optional(),
    /** Error kinds counted as failures (default: the breaker's default count kinds). */
    kinds: breakerKinds,
  }),
  z.strictObject({
    type: z.literal('breaker_recovers_with_single_probe'),
    ...common,
    deployment: z.string().optional(),
    /** Also require every breaker that opened to be closed again by the end of the run. */
    mustClose: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('fallback_path'),
    ...common,
    /** The deployment matching requests must end on. */
    deployment: z.string().optional(),
    /** Or the exact sequence of deployments tried (repeats from retries collapsed). */
    path: z.array(z.string()).min(1).optional(),
    /** Share of matching requests that must follow it (default all). */
    atLeast: share.default(1),
  }),
  z.strictObject({ type: z.literal('no_duplicated_text'), ...common }),
  z.strictObject({
    type: z.literal('budget_never_exceeded'),
    ...common,
    /** Only this tenant's budgets (default all budgets of the config). */
    tenant: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('recovery_time'),
    ...common,
    /** Time after the fault window until the success rate is back (and stays) at or above `threshold`. */
    atMost: durationSchema,
    threshold: share.default(0.95),
    /** Success rate is measured over buckets of this size (by request start). */
    bucket: durationSchema.default(10_000),
  }),
  z.strictObject({
    type: z.literal('retry_after_respected_across_requests'),
    ...common,
    /** No attempt on a deployment, from any request, starts before a Retry-After it gave earlier allowed. */
    deployment: z.string().optional(),
    /** Slack for clock granularity. */
    toleranceMs: z.number().nonnegative().default(0),
  }),
  z.strictObject({
    type: z.literal('breaker_thrash'),
    ...common,
    /** At most this many times a deployment's breaker opens (from closed, or after a failed probe) per fault window. */
    atMost: z.number().int().positive(),
    deployment: z.string().optional(),
    /** Opens this long after a window ends still count for it. */
    grace: durationSchema.default(0),
  }),
  z.strictObject({
    /** A failed request tried (or skipped, with a reason) every deployment of its route's chain. */
    type: z.literal('every_fallback_tried'),
    ...common,
  }),
  z.strictObject({
    /** No request dies at its total deadline while a deployment of its chain it never tried was answering. */
    type: z.literal('no_deadline_death_with_healthy_fallback'),
    ...common,
  }),
  z.strictObject({
    /** Every request sent ends (with an answer or an error) before the run drains. */
    type: z.literal('no_request_left_hanging'),
    ...common,
  }),
  z.strictObject({
    type: z.literal('retries_spread'),
    ...common,
    /** At most this many retries may start within any `window` (catches synchronised retry storms). */
    atMost: z.number().int().positive(),
    window: durationSchema.default(10),
  }),
]);

// ---------------------------------------------------------------------------------------------
// The scenario

export const routerRefSchema = z.strictObject({
  /** A router config file, relative to the scenario file. */
  path: z.string().min(1),
});

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1),
    /** What the scenario proves, in a sentence or two. */
    description: z.string().min(1),
    seed: z.number().int().default(1),
    router: z.union([routerRefSchema, routerConfigSchema]),
    load: loadSchema,
    simulator: simulatorSchema.optional(),
    /**
     * Where the router keeps its state: `memory` (default), `redis` (SWITCHYARD_REDIS_URL, else a
     * private redis-server the run starts), or `{ redis: "redis://host:port/db" }`.
     */
    state: z
      .union([
        z.enum(['memory', 'redis']),
        z.strictObject({ redis: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL') }),
      ])
      .default('memory'),
    faults: z.array(faultSchema).default([]),
    hypotheses: z.array(hypothesisSchema).default([]),
  })
  .superRefine((scenario, ctx) => {
    const ids = new Set<string>();
    scenario.faults.forEach((fault, i) => {
      const id = fault.id ?? `${i}:${fault.fault}`;
      if (ids.has(id))
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'id'], message: `duplicate fault id "${id}"` });
      ids.add(id);
    });
    const hypothesisIds = new Set<string>();
    scenario.hypotheses.forEach((h, i) => {
      const id = h.id ?? `${i}:${h.type}`;
      if (hypothesisIds.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['hypotheses', i, 'id'],
          message: `duplicate hypothesis id "${id}"`,
        });
      hypothesisIds.add(id);
    });
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A scenario as parsed, before `router.path` is resolved. */
export type ScenarioSpec = z.output<typeof scenarioSchema>;
export type LoadSpec = z.output<typeof loadSchema>;
export type PromptSource = z.output<typeof promptSourceSchema>;
export type Hypothesis = z.output<typeof hypothesisSchema>;
export type HypothesisType = Hypothesis['type'];
export type RequestFilter = z.output<typeof requestFilterSchema>;
export type LatencyProfileOverride = z.output<typeof latencyProfileSchema>;

/** A scenario ready to run: the router config resolved and validated, source locations kept. */
export interface Scenario extends Omit<ScenarioSpec, 'router'> {
  router: RouterConfig;
  /** The scenario file ('<inline>' when built in code). */
  file: string;
  /** The router config file when `router.path` was used. */
  routerFile?: string;
  /** 1-based line of each hypothesis in the file (same order as `hypotheses`). */
  hypothesisLines?: number[];
  /** Prompts read from `load.prompts[i].file`, by index in `load.prompts`. */
  promptFiles?: Record<number, string[]>;
}

/** The JSON Schema of scenario files (what editors validate against through `$schema`). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
