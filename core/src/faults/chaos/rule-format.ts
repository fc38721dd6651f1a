/**
 * The one format of a fault rule, wherever rules are written: a scenario's `faults:`, a `serve
 * --config` file and the chaos proxy's admin API (`GET`/`PUT /__switchyard/rules`). Flat injection
 * fields (`rate`, `firstN`, `from`/`to`, `ramp`…) with durations in ms or with a unit; what `GET
 * rules` answers can be pasted into a config file. `toFaultRule` compiles an entry into the plan's
 * FaultRule, `fromFaultRule` writes one back.
 */
import { z } from 'zod';
import { FAULT_IDS, FAULTS, type FaultId, resolveParams } from './catalogue.ts';
import type { FaultRule, Injection } from './plan.ts';
import { PROVIDERS } from './wire.ts';

// ---------------------------------------------------------------------------------------------
// Durations: numbers are milliseconds; strings carry units, alone or compound ('250ms', '1.5s', '2m30s', '1h15m').
//
// Hand-written: parse-duration (the common library) also reads years, months, weeks and µs, with
// spaces and in any order, and answers `null` without saying why; a scenario's durations need four
// units in one fixed order, and an error that shows the expected form.

const PART = '(\\d+(?:\\.\\d+)?)';
export const DURATION_PATTERN = new RegExp(
  `^\\s*(?=\\d)(?:${PART}h)?(?:${PART}m(?!s))?(?:${PART}s)?(?:${PART}ms)?\\s*$`,
);
const PART_MS = [3_600_000, 60_000, 1_000, 1];

/** Milliseconds in a duration ('250ms', '10s', '2m30s', '1h') or a number of ms; undefined if unreadable. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION_PATTERN.exec(value);
  if (!match) return undefined;
  return match
    .slice(1)
    .reduce((sum, part, i) => sum + (part === undefined ? 0 : Number(part) * PART_MS[i]!), 0);
}

export const durationSchema = z
  .union([
    z.number().nonnegative(),
    z
      .string()
      .regex(DURATION_PATTERN, { error: "expected a duration such as '250ms', '10s', '2m30s' or '1h'" }),
  ])
  .meta({
    description:
      "Milliseconds, or a string with units, alone or largest first: '250ms', '10s', '2m30s', '1h15m'.",
  })
  .transform((value) => parseDuration(value)!);

const share = z.number().min(0).max(1);

// ---------------------------------------------------------------------------------------------
// Fault timeline

const oneOrMany = <T extends z.ZodType>(schema: T) => z.union([schema, z.array(schema)]);

export const faultTargetSchema = z.strictObject({
  provider: oneOrMany(z.enum(PROVIDERS)).optional(),
  /** Glob(s) on the model name the provider receives: `gpt-4*`. */
  model: oneOrMany(z.string().min(1)).optional(),
  endpoint: oneOrMany(z.string().min(1)).optional(),
  /** true = only streamed calls, false = only non-streamed. */
  stream: z.boolean().optional(),
  match: z
    .strictObject({
      body: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

export const faultSchema = z
  .strictObject({
    /** Names the rule in counters and reports (default `<index>:<fault>`). */
    id: z.string().min(1).optional(),
    fault: z.enum(FAULT_IDS),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
    target: faultTargetSchema.optional(),
    /** Probability 0..1 for each matching request (default 1). */
    rate: share.optional(),
    firstN: z.number().int().nonnegative().optional(),
    everyNth: z.number().int().positive().optional(),
    burst: z
      .strictObject({ size: z.number().int().nonnegative(), every: z.number().int().positive() })
      .optional(),
    maxInjections: z.number().int().nonnegative().optional(),
    /** The fault window, from the run's start (default: the whole run). */
    from: durationSchema.optional(),
    to: durationSchema.optional(),
    /** Injection rate moving linearly from `fromRate` at `from` to `toRate` at `to`. */
    ramp: z
      .strictObject({ from: durationSchema, to: durationSchema, fromRate: share, toRate: share })
      .optional(),
    /** A repeating schedule from `from`: `down` with the fault, then `up` without, again and again (until `to`). */
    repeat: z.strictObject({ down: durationSchema, up: durationSchema }).optional(),
    /**
     * A Retry-After header on the fault's response, whatever its status (429, 503, 529…): a duration
     * (sent as delta-seconds), or `{ after, as: 'http-date' }` for an HTTP date that far ahead on the
     * run's clock. It replaces the fault's own retry-after(-ms) headers.
     */
    retryAfter: z
      .union([
        durationSchema,
        z.strictObject({ after: durationSchema, as: z.enum(['seconds', 'http-date']).default('seconds') }),
      ])
      .optional(),
    /** Extra headers on the fault's response (not on transport faults). */
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'not an HTTP header name' }),
        z.string(),
      )
      .optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((fault, ctx) => {
    const known = FAULTS[fault.fault as FaultId]?.params ?? {};
    const given = fault.params ?? {};
    let unknown = false;
    for (const name of Object.keys(given)) {
      if (!(name in known)) {
        unknown = true;
        const allowed = Object.keys(known);
        ctx.addIssue({
          code: 'custom',
          path: ['params', name],
          message: `fault ${fault.fault} has no parameter "${name}"${allowed.length ? ` (it has: ${allowed.join(', ')})` : ' (it takes none)'}`,
        });
      }
    }
    if (!unknown) {
      try {
        resolveParams(fault.fault, given);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const param = /'([^']+)'/.exec(message)?.[1];
        ctx.addIssue({
          code: 'custom',
          path: param && param in given ? ['params', param] : ['params'],
          message,
        });
      }
    }
    if (fault.from !== undefined && fault.to !== undefined && fault.to <= fault.from)
      ctx.addIssue({ code: 'custom', path: ['to'], message: '`to` must be after `from`' });
    if (fault.ramp && fault.ramp.to <= fault.ramp.from)
      ctx.addIssue({ code: 'custom', path: ['ramp', 'to'], message: '`ramp.to` must be after `ramp.from`' });
    if (fault.ramp && fault.rate !== undefined)
      ctx.addIssue({ code: 'custom', path: ['rate'], message: 'give either `rate` or `ramp`, not both' });
    for (const part of ['down', 'up'] as const)
      if (fault.repeat && !(fault.repeat[part] > 0))
        ctx.addIssue({
          code: 'custom',
          path: ['repeat', part],
          message: `\`repeat.${part}\` must be longer than 0`,
        });
    if (fault.retryAfter !== undefined && FAULTS[fault.fault as FaultId]?.category === 'transport')
      ctx.addIssue({
        code: 'custom',
        path: ['retryAfter'],
        message: `fault ${fault.fault} sends no response to carry a Retry-After header`,
      });
    if (fault.headers !== undefined && FAULTS[fault.fault as FaultId]?.category === 'transport')
      ctx.addIssue({
        code: 'custom',
        path: ['headers'],
        message: `fault ${fault.fault} sends no response to carry headers`,
      });
  });

export type FaultSpec = z.output<typeof faultSchema>;
/** A fault entry as written (durations may still carry units). */
export type FaultEntry = z.input<typeof faultSchema>;

export function faultRuleId(fault: Pick<FaultSpec, 'id' | 'fault'>, index: number): string {
  return fault.id ?? `${index}:${fault.fault}`;
}

/** A fault entry as the chaos plan's rule. */
export function toFaultRule(fault: FaultSpec, index: number): FaultRule {
  const injection: Injection = {};
  if (fault.rate !== undefined) injection.rate = fault.rate;
  if (fault.firstN !== undefined) injection.firstN = fault.firstN;
  if (fault.everyNth !== undefined) injection.everyNth = fault.everyNth;
  if (fault.burst) injection.burst = fault.burst;
  if (fault.maxInjections !== undefined) injection.maxInjections = fault.maxInjections;
  if (fault.from !== undefined || fault.to !== undefined) {
    injection.window = {
      ...(fault.from !== undefined ? { fromMs: fault.from } : {}),
      ...(fault.to !== undefined ? { toMs: fault.to } : {}),
    };
  }
  if (fault.ramp) {
    injection.ramp = {
      fromMs: fault.ramp.from,
      toMs: fault.ramp.to,
      fromRate: fault.ramp.fromRate,
      toRate: fault.ramp.toRate,
    };
  }
  if (fault.repeat) injection.cycle = { downMs: fault.repeat.down, upMs: fault.repeat.up };
  const retryAfter = fault.retryAfter;
  return {
    id: faultRuleId(fault, index),
    fault: fault.fault,
    ...(fault.params ? { params: fault.params } : {}),
    ...(fault.target ? { target: fault.target } : {}),
    injection,
    enabled: fault.enabled,
    ...(fault.headers ? { headers: fault.headers } : {}),
    ...(retryAfter !== undefined
      ? {
          retryAfter:
            typeof retryAfter === 'number'
              ? { ms: retryAfter, format: 'seconds' as const }
              : { ms: retryAfter.after, format: retryAfter.as },
        }
      : {}),
  };
}

/** A plan rule written back as a fault entry (durations in ms), the inverse of toFaultRule. */
export function fromFaultRule(rule: FaultRule, index: number): FaultSpec {
  const injection = rule.injection ?? {};
  return {
    id: rule.id ?? faultRuleId(rule, index),
    fault: rule.fault,
    ...(rule.params ? { params: rule.params } : {}),
    ...(rule.target ? { target: rule.target } : {}),
    ...(injection.rate !== undefined ? { rate: injection.rate } : {}),
    ...(injection.firstN !== undefined ? { firstN: injection.firstN } : {}),
    ...(injection.everyNth !== undefined ? { everyNth: injection.everyNth } : {}),
    ...(injection.burst ? { burst: injection.burst } : {}),
    ...(injection.maxInjections !== undefined ? { maxInjections: injection.maxInjections } : {}),
    ...(injection.window?.fromMs !== undefined ? { from: injection.window.fromMs } : {}),
    ...(injection.window?.toMs !== undefined ? { to: injection.window.toMs } : {}),
    ...(injection.ramp
      ? {
          ramp: {
            from: injection.ramp.fromMs,
            to: injection.ramp.toMs,
            fromRate: injection.ramp.fromRate,
            toRate: injection.ramp.toRate,
          },
        }
      : {}),
    ...(injection.cycle ? { repeat: { down: injection.cycle.downMs, up: injection.cycle.upMs } } : {}),
    ...(rule.retryAfter ? { retryAfter: { after: rule.retryAfter.ms, as: rule.retryAfter.format } } : {}),
    ...(rule.headers ? { headers: rule.headers } : {}),
    enabled: rule.enabled ?? true,
  } as FaultSpec;
}

/** The rule list of the admin API and of `serve --config`: `{ faults: [ …entries… ] }`. */
export const faultListSchema = z.strictObject({
  $schema: z.string().optional(),
  faults: z.array(faultSchema),
});

/**
 * `{ faults: [...] }` (JSON from the admin API) as plan rules; throws an Error naming the first
 * problem's path (`faults[0].rate: …`).
 */
export function parseFaultList(input: unknown): FaultRule[] {
  const result = faultListSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path
      .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
      .join('');
    throw new Error(`${path || 'body'}: ${issue.message}`);
  }
  return result.data.faults.map(toFaultRule);
}
