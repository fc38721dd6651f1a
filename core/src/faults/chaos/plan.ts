/**
 * Targeting and injection control: which requests a fault rule hits and when. Decisions depend only on
 * (seed, request order, clock time): each rule draws from its own seeded PRNG once per request it
 * matches — whether or not it fires — so one rule's firing never shifts another rule's sequence.
 */
import type { Clock } from '../../runtime/clock.ts';
import {
  FAULTS,
  type FaultDefinition,
  type FaultId,
  type FaultParams,
  faultApplies,
  isFaultId,
  type ParamValue,
  resolveParams,
} from './catalogue.ts';
import { deriveSeed, mulberry32, type Random } from './prng.ts';
import { isRecord, PROVIDERS, type Provider, type RequestInfo } from './wire.ts';

export interface FaultTarget {
  provider?: Provider | Provider[];
  /** Glob(s) on the request's model: `gpt-4*`, `claude-?-haiku`. */
  model?: string | string[];
  /** Exact pathname(s) or globs: `/v1/chat/completions`, `/api/*`. */
  endpoint?: string | string[];
  /** true = only streamed calls, false = only non-streamed. */
  stream?: boolean;
  match?: {
    /** Dot paths into the JSON body (`response_format.type`, `messages.0.role`) → value (strings may be globs). */
    body?: Record<string, ParamValue | null>;
    /** Header name → glob on its value (Envoy-style header-driven faults). */
    headers?: Record<string, string>;
  };
}

export interface Injection {
  /** Probability 0..1 for each matching request (default 1). Ignored when `ramp` is set. */
  rate?: number;
  /** Only the first N matching requests. */
  firstN?: number;
  /** Only every Nth matching request (N, 2N, …). */
  everyNth?: number;
  /** Bursts: the first `size` of every `every` matching requests. */
  burst?: { size: number; every: number };
  /** Active only while `fromMs <= elapsed < toMs` (relative to the plan's start); recovery after. */
  window?: { fromMs?: number; toMs?: number };
  /** Rate moving linearly from `fromRate` at `fromMs` to `toRate` at `toMs` (held constant outside). */
  ramp?: { fromMs: number; toMs: number; fromRate: number; toRate: number };
  /** Stop after this many injections (like Envoy's cap on active faults). */
  maxInjections?: number;
  /**
   * A repeating schedule inside the window: `downMs` of faults, then `upMs` without, again and again,
   * from the window's start (or the plan's).
   */
  cycle?: { downMs: number; upMs: number };
}

export interface FaultRule {
  /** Stable name for counters and PRNG derivation (default `<index>:<fault>`). */
  id?: string;
  fault: FaultId;
  params?: Record<string, ParamValue>;
  target?: FaultTarget;
  injection?: Injection;
  /** Polly-style switch (default true). */
  enabled?: boolean;
  /** Headers set on the fault's response (not on transport faults). */
  headers?: Record<string, string>;
  /** Retry-After on the fault's response: `ms` ahead, as delta-seconds or as an HTTP date (on the plan's clock). */
  retryAfter?: { ms: number; format: 'seconds' | 'http-date' };
}

export interface Decision {
  ruleId: string;
  rule: FaultRule;
  fault: FaultDefinition;
  params: FaultParams;
}

export interface ChaosCounters {
  startedAt: number;
  elapsedMs: number;
  requests: { total: number; byProvider: Record<string, number>; byTarget: Record<string, number> };
  injected: {
    total: number;
    byFault: Record<string, number>;
    /** `provider/model` → fault id → count. */
    byTarget: Record<string, Record<string, number>>;
    byRule: Record<string, number>;
  };
  passedThrough: number;
}

interface RuleState {
  id: string;
  rule: FaultRule;
  params: FaultParams;
  random: Random;
  matched: number;
  injected: number;
}

/** Longest glob a rule may hold: keeps globMatch linear in the value's length. */
export const MAX_GLOB_LENGTH = 256;

/** Whether `value` matches `segment` (`?` = any one character) at `at`. */
function segmentAt(segment: string, value: string, at: number): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c !== '?' && c !== value[at + i]) return false;
  }
  return true;
}

/**
 * Glob match: `*` is any run of characters (slashes included: model names hold them), `?` one
 * character. Written by hand because the glob libraries (picomatch, micromatch, zeptomatch,
 * wildcard-match) compile to backtracking regexes, and a regex of many `.*` tried against a long
 * model name backtracks exponentially (12 stars froze the proxy for 45 s). Here the glob is split at
 * its stars: the first piece must start the value, the last must end it, and each piece between is
 * taken at its leftmost place after the previous one, which is always a right choice, so nothing is
 * ever retried. Time O(value length × glob length), linear for a glob of bounded length.
 */
export function globMatch(glob: string, value: string): boolean {
  const pieces = glob.split('*');
  const first = pieces[0]!;
  if (pieces.length === 1) return glob.length === value.length && segmentAt(glob, value, 0);
  const last = pieces.at(-1)!;
  if (first.length + last.length > value.length) return false;
  if (!segmentAt(first, value, 0) || !segmentAt(last, value, value.length - last.length)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let p = 1; p < pieces.length - 1; p++) {
    const piece = pieces[p]!;
    while (at + piece.length <= end && !segmentAt(piece, value, at)) at++;
    if (at + piece.length > end) return false;
    at += piece.length;
  }
  return true;
}

const asArray = <T>(value: T | T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

function bodyPath(body: unknown, path: string): unknown {
  let current = body;
  for (const key of path.split('.')) {
    if (Array.isArray(current)) current = current[Number(key)];
    else if (isRecord(current)) current = current[key];
    else return undefined;
  }
  return current;
}

/** Whether the rule's target selects this request. */
export function targetMatches(target: FaultTarget | undefined, info: RequestInfo): boolean {
  if (!target) return true;
  const providers = asArray(target.provider);
  if (providers && (!info.provider || !providers.includes(info.provider))) return false;
  const models = asArray(target.model);
  if (models && (info.model === undefined || !models.some((glob) => globMatch(glob, info.model!))))
    return false;
  const endpoints = asArray(target.endpoint);
  if (endpoints && !endpoints.some((glob) => globMatch(glob, info.endpoint))) return false;
  if (target.stream !== undefined && target.stream !== info.stream) return false;
  for (const [path, expected] of Object.entries(target.match?.body ?? {})) {
    const actual = bodyPath(info.body, path);
    if (typeof expected === 'string' && typeof actual === 'string') {
      if (!globMatch(expected, actual)) return false;
    } else if (actual !== expected) return false;
  }
  for (const [name, glob] of Object.entries(target.match?.headers ?? {})) {
    const value = info.headers.get(name);
    if (value === null || !globMatch(glob, value)) return false;
  }
  return true;
}

export function rampRate(ramp: NonNullable<Injection['ramp']>, elapsedMs: number): number {
  if (elapsedMs <= ramp.fromMs) return ramp.fromRate;
  if (elapsedMs >= ramp.toMs) return ramp.toRate;
  const share = (elapsedMs - ramp.fromMs) / (ramp.toMs - ramp.fromMs);
  return ramp.fromRate + (ramp.toRate - ramp.fromRate) * share;
}

/** Whether a rule fires for its n-th matching request (1-based) with this draw at this time. */
function fires(state: RuleState, n: number, draw: number, elapsedMs: number): boolean {
  const injection = state.rule.injection ?? {};
  const { window, firstN, everyNth, burst, maxInjections, ramp, cycle } = injection;
  if (
    window &&
    (elapsedMs < (window.fromMs ?? 0) || elapsedMs >= (window.toMs ?? Number.POSITIVE_INFINITY))
  ) {
    return false;
  }
  if (cycle && (elapsedMs - (window?.fromMs ?? 0)) % (cycle.downMs + cycle.upMs) >= cycle.downMs)
    return false;
  if (firstN !== undefined && n > firstN) return false;
  if (everyNth !== undefined && n % everyNth !== 0) return false;
  if (burst && (n - 1) % burst.every >= burst.size) return false;
  if (maxInjections !== undefined && state.injected >= maxInjections) return false;
  const rate = ramp ? rampRate(ramp, elapsedMs) : (injection.rate ?? 1);
  return draw < rate;
}

/** Distinct keys a counter keeps; requests with further keys are counted under OTHER_KEY. */
export const MAX_COUNTER_KEYS = 256;
/** Keys (they hold request model names) are cut to this many characters. */
export const MAX_COUNTER_KEY_LENGTH = 200;
export const OTHER_KEY = 'other';

/**
 * Counters are keyed by what requests carry (model names), so they are bounded: every distinct name
 * used to add a permanent key (60 requests with 3 MB names made a 180 MB /counters).
 */
function counterKey(record: object, key: string): string {
  const short = key.length > MAX_COUNTER_KEY_LENGTH ? `${key.slice(0, MAX_COUNTER_KEY_LENGTH - 1)}…` : key;
  if (Object.hasOwn(record, short)) return short;
  return Object.keys(record).length >= MAX_COUNTER_KEYS ? OTHER_KEY : short;
}

const bump = (record: Record<string, number>, key: string) => {
  const at = counterKey(record, key);
  record[at] = (record[at] ?? 0) + 1;
};

/** A counter record with no prototype: a key like `__proto__` or `constructor` is just a key. */
const counter = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function emptyCounters(startedAt: number): ChaosCounters {
  return {
    startedAt,
    elapsedMs: 0,
    requests: { total: 0, byProvider: counter(), byTarget: counter() },
    injected: { total: 0, byFault: counter(), byTarget: counter(), byRule: counter() },
    passedThrough: 0,
  };
}

export interface FaultPlan {
  /** Counts the request and returns the fault to inject, if any. Call once per request, in order. */
  decide(info: RequestInfo): Decision | undefined;
  counters(): ChaosCounters;
  rules(): FaultRule[];
  /** Replaces the rules (validated); per-rule sequences restart, the plan's start time and counters stay. */
  setRules(rules: FaultRule[]): void;
  /** Restarts everything: start time = now, counters and per-rule sequences from the seed. */
  reset(): void;
}

export function createPlan(options: { clock: Clock; seed: number; rules?: FaultRule[] }): FaultPlan {
  const { clock, seed } = options;
  let rules = validateRules(options.rules ?? []);
  let startedAt = clock.now();
  let counters = emptyCounters(startedAt);
  let states: RuleState[] = [];

  const build = () => {
    states = rules.map((rule, index) => {
      const id = rule.id ?? `${index}:${rule.fault}`;
      return {
        id,
        rule,
        params: resolveParams(rule.fault, rule.params),
        random: mulberry32(deriveSeed(seed, id)),
        matched: 0,
        injected: 0,
      };
    });
  };
  build();

  return {
    decide(info) {
      const elapsedMs = clock.now() - startedAt;
      const targetKey = `${info.provider ?? 'unknown'}/${info.model ?? '*'}`;
      counters.requests.total++;
      bump(counters.requests.byProvider, info.provider ?? 'unknown');
      bump(counters.requests.byTarget, targetKey);
      let chosen: RuleState | undefined;
      for (const state of states) {
        if (state.rule.enabled === false) continue;
        const fault = FAULTS[state.rule.fault];
        if (!faultApplies(fault, info) || !targetMatches(state.rule.target, info)) continue;
        const n = ++state.matched;
        const draw = state.random();
        if (chosen) continue;
        if (fires(state, n, draw, elapsedMs)) {
          chosen = state;
          state.injected++;
        }
      }
      if (!chosen) {
        counters.passedThrough++;
        return undefined;
      }
      const faultId = chosen.rule.fault;
      counters.injected.total++;
      bump(counters.injected.byFault, faultId);
      bump(counters.injected.byRule, chosen.id);
      const injectedTarget = counterKey(counters.injected.byTarget, targetKey);
      counters.injected.byTarget[injectedTarget] ??= counter();
      bump(counters.injected.byTarget[injectedTarget], faultId);
      return { ruleId: chosen.id, rule: chosen.rule, fault: FAULTS[faultId], params: chosen.params };
    },
    counters() {
      return structuredClone({ ...counters, elapsedMs: clock.now() - startedAt });
    },
    rules() {
      return structuredClone(rules);
    },
    setRules(next) {
      rules = validateRules(next);
      build();
    },
    reset() {
      startedAt = clock.now();
      counters = emptyCounters(startedAt);
      build();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// validation (rules arrive as JSON over the admin endpoint)

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function checkNumber(where: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(where, `must be a number in [${min}, ${max}]`);
  }
}

function checkStrings(where: string, value: unknown, allowed?: readonly string[]): void {
  if (value === undefined) return;
  const list = Array.isArray(value) ? value : [value];
  for (const item of list) {
    if (typeof item !== 'string') fail(where, 'must be a string or a list of strings');
    if (allowed && !allowed.includes(item)) fail(where, `must be one of ${allowed.join(', ')}`);
    checkGlob(where, item);
  }
}

function checkGlob(where: string, glob: string): void {
  if (glob.length > MAX_GLOB_LENGTH) fail(where, `a glob is at most ${MAX_GLOB_LENGTH} characters`);
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `target.match`: header names to string globs, body paths to plain values. */
function checkMatch(where: string, match: unknown): void {
  if (match === undefined) return;
  if (!isRecord(match)) fail(where, 'must be an object');
  for (const key of Object.keys(match)) {
    if (key !== 'body' && key !== 'headers') fail(where, `unknown field '${key}'`);
  }
  const { headers, body } = match;
  if (headers !== undefined) {
    if (!isRecord(headers)) fail(`${where}.headers`, 'must be an object');
    for (const [name, glob] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) fail(`${where}.headers`, `invalid header name ${JSON.stringify(name)}`);
      if (typeof glob !== 'string') fail(`${where}.headers['${name}']`, 'must be a string');
      checkGlob(`${where}.headers['${name}']`, glob);
    }
  }
  if (body !== undefined) {
    if (!isRecord(body)) fail(`${where}.body`, 'must be an object');
    for (const [path, value] of Object.entries(body)) {
      const plain = value === null || ['string', 'number', 'boolean'].includes(typeof value);
      if (!plain) fail(`${where}.body['${path}']`, 'must be a string, number, boolean or null');
      if (typeof value === 'string') checkGlob(`${where}.body['${path}']`, value);
    }
  }
}

/** Checks a rule list (from code or JSON) and returns it; throws an Error naming the first problem. */
export function validateRules(input: unknown): FaultRule[] {
  if (!Array.isArray(input)) fail('rules', 'must be an array');
  const seen = new Set<string>();
  return input.map((raw, index) => {
    const where = `rules[${index}]`;
    if (!isRecord(raw)) fail(where, 'must be an object');
    const known = ['id', 'fault', 'params', 'target', 'injection', 'enabled', 'headers', 'retryAfter'];
    for (const key of Object.keys(raw)) if (!known.includes(key)) fail(where, `unknown field '${key}'`);
    if (!isFaultId(raw.fault)) fail(`${where}.fault`, `unknown fault '${String(raw.fault)}'`);
    if (raw.id !== undefined && typeof raw.id !== 'string') fail(`${where}.id`, 'must be a string');
    const id = (raw.id as string | undefined) ?? `${index}:${raw.fault}`;
    if (seen.has(id)) fail(`${where}.id`, `duplicate id '${id}'`);
    seen.add(id);
    if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean')
      fail(`${where}.enabled`, 'must be a boolean');
    if (raw.params !== undefined && !isRecord(raw.params)) fail(`${where}.params`, 'must be an object');
    try {
      resolveParams(raw.fault, raw.params as Record<string, unknown> | undefined);
    } catch (error) {
      fail(`${where}.params`, (error as Error).message);
    }
    const target = raw.target;
    if (target !== undefined) {
      if (!isRecord(target)) fail(`${where}.target`, 'must be an object');
      checkStrings(`${where}.target.provider`, target.provider, PROVIDERS);
      checkStrings(`${where}.target.model`, target.model);
      checkStrings(`${where}.target.endpoint`, target.endpoint);
      if (target.stream !== undefined && typeof target.stream !== 'boolean')
        fail(`${where}.target.stream`, 'must be a boolean');
      checkMatch(`${where}.target.match`, target.match);
    }
    if (raw.headers !== undefined) {
      if (!isRecord(raw.headers) || Object.values(raw.headers).some((v) => typeof v !== 'string'))
        fail(`${where}.headers`, 'must map header names to strings');
      for (const name of Object.keys(raw.headers))
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
          fail(`${where}.headers`, `'${name}' is not a header name`);
    }
    if (raw.retryAfter !== undefined) {
      if (!isRecord(raw.retryAfter)) fail(`${where}.retryAfter`, 'must be an object { ms, format }');
      checkNumber(`${where}.retryAfter.ms`, raw.retryAfter.ms ?? -1, 0);
      checkStrings(`${where}.retryAfter.format`, raw.retryAfter.format ?? '', ['seconds', 'http-date']);
    }
    const injection = raw.injection;
    if (injection !== undefined) {
      if (!isRecord(injection)) fail(`${where}.injection`, 'must be an object');
      checkNumber(`${where}.injection.rate`, injection.rate, 0, 1);
      checkNumber(`${where}.injection.firstN`, injection.firstN, 0);
      checkNumber(`${where}.injection.everyNth`, injection.everyNth, 1);
      checkNumber(`${where}.injection.maxInjections`, injection.maxInjections, 0);
      const { burst, window, ramp, cycle } = injection;
      if (cycle !== undefined) {
        if (!isRecord(cycle)) fail(`${where}.injection.cycle`, 'must be an object');
        checkNumber(`${where}.injection.cycle.downMs`, cycle.downMs ?? -1, 1);
        checkNumber(`${where}.injection.cycle.upMs`, cycle.upMs ?? -1, 1);
      }
      if (burst !== undefined) {
        if (!isRecord(burst)) fail(`${where}.injection.burst`, 'must be an object');
        checkNumber(`${where}.injection.burst.size`, burst.size ?? -1, 0);
        checkNumber(`${where}.injection.burst.every`, burst.every ?? -1, 1);
      }
      if (window !== undefined) {
        if (!isRecord(window)) fail(`${where}.injection.window`, 'must be an object');
        checkNumber(`${where}.injection.window.fromMs`, window.fromMs, 0);
        checkNumber(`${where}.injection.window.toMs`, window.toMs, 0);
      }
      if (ramp !== undefined) {
        if (!isRecord(ramp)) fail(`${where}.injection.ramp`, 'must be an object');
        checkNumber(`${where}.injection.ramp.fromMs`, ramp.fromMs ?? -1, 0);
        checkNumber(`${where}.injection.ramp.toMs`, ramp.toMs ?? -1, Number(ramp.fromMs) + 1e-9);
        checkNumber(`${where}.injection.ramp.fromRate`, ramp.fromRate ?? -1, 0, 1);
        checkNumber(`${where}.injection.ramp.toRate`, ramp.toRate ?? -1, 0, 1);
      }
    }
    return raw as unknown as FaultRule;
  });
}
