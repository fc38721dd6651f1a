import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPlan,
  type FaultRule,
  globMatch,
  rampRate,
  validateRules,
} from '../../../src/faults/chaos/plan.ts';
import { mulberry32 } from '../../../src/faults/chaos/prng.ts';
import type { Provider, RequestInfo } from '../../../src/faults/chaos/wire.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import { anthropicReq, chaosOverSimulator, ollamaReq, openaiReq } from './helpers.ts';

const ENDPOINT: Record<Provider, string> = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
  ollama: '/api/chat',
};

function info(overrides: Partial<RequestInfo> = {}): RequestInfo {
  const provider = overrides.provider ?? 'openai';
  return {
    provider,
    method: 'POST',
    endpoint: ENDPOINT[provider],
    generation: true,
    model: 'gpt-4o-mini',
    stream: false,
    jsonMode: false,
    body: {},
    headers: new Headers(),
    ...overrides,
  };
}

/** Which of `count` identical requests a plan injects into (1 = injected). */
function sequence(rules: FaultRule[], seed: number, count: number, clock = new VirtualClock()): string {
  const plan = createPlan({ clock, seed, rules });
  let out = '';
  for (let i = 0; i < count; i++) out += plan.decide(info()) ? '1' : '0';
  return out;
}

describe('seeded PRNG', () => {
  it('mulberry32 is reproducible and spread over [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const values = Array.from({ length: 10_000 }, () => a());
    expect(values.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });
});

describe('injection rate is deterministic per seed', () => {
  const rules: FaultRule[] = [{ fault: 'server_error', injection: { rate: 0.3 } }];

  it('same seed → identical sequence over 1,000 requests; different seed → different', () => {
    const first = sequence(rules, 1234, 1000);
    expect(sequence(rules, 1234, 1000)).toBe(first);
    expect(sequence(rules, 1235, 1000)).not.toBe(first);
    const hits = [...first].filter((c) => c === '1').length;
    expect(hits).toBeGreaterThan(250);
    expect(hits).toBeLessThan(350);
  });

  it("a second rule does not shift the first rule's draws", () => {
    const plan = createPlan({
      clock: new VirtualClock(),
      seed: 9,
      rules: [
        { id: 'a', fault: 'server_error', injection: { rate: 0.3 } },
        { id: 'b', fault: 'rate_limit', injection: { rate: 0.5 }, target: { provider: 'anthropic' } },
      ],
    });
    const alone = createPlan({
      clock: new VirtualClock(),
      seed: 9,
      rules: [{ id: 'a', fault: 'server_error', injection: { rate: 0.3 } }],
    });
    for (let i = 0; i < 300; i++) {
      const provider = i % 2 === 0 ? 'openai' : 'anthropic';
      const both = plan.decide(info({ provider }));
      const single = alone.decide(info({ provider }));
      expect(both?.ruleId === 'a').toBe(single?.ruleId === 'a');
    }
  });

  it('rate 0 never fires, rate 1 always fires, enabled:false switches a rule off', () => {
    expect(sequence([{ fault: 'server_error', injection: { rate: 0 } }], 1, 200)).not.toContain('1');
    expect(sequence([{ fault: 'server_error', injection: { rate: 1 } }], 1, 200)).not.toContain('0');
    expect(sequence([{ fault: 'server_error', enabled: false }], 1, 200)).not.toContain('1');
  });
});

describe('count-based injection', () => {
  it('firstN, everyNth, bursts and maxInjections', () => {
    expect(sequence([{ fault: 'server_error', injection: { firstN: 3 } }], 1, 8)).toBe('11100000');
    expect(sequence([{ fault: 'server_error', injection: { everyNth: 3 } }], 1, 9)).toBe('001001001');
    expect(sequence([{ fault: 'server_error', injection: { burst: { size: 2, every: 5 } } }], 1, 12)).toBe(
      '110001100011',
    );
    expect(sequence([{ fault: 'server_error', injection: { everyNth: 2, maxInjections: 2 } }], 1, 10)).toBe(
      '0101000000',
    );
  });

  it('counts only the requests the target matches', () => {
    const plan = createPlan({
      clock: new VirtualClock(),
      seed: 1,
      rules: [{ fault: 'server_error', target: { provider: 'anthropic' }, injection: { everyNth: 2 } }],
    });
    const fired = ['openai', 'anthropic', 'openai', 'anthropic', 'anthropic', 'anthropic'].map((p) =>
      plan.decide(info({ provider: p as Provider })) ? 1 : 0,
    );
    expect(fired).toEqual([0, 0, 0, 1, 0, 1]);
  });
});

describe('time-based injection on a VirtualClock', () => {
  it('window: active only inside [fromMs, toMs) of plan time, then recovery', async () => {
    const clock = new VirtualClock();
    const plan = createPlan({
      clock,
      seed: 1,
      rules: [{ fault: 'server_error', injection: { window: { fromMs: 1000, toMs: 3000 } } }],
    });
    const at = async (ms: number) => {
      await clock.advanceTo(Date.UTC(2026, 0, 1) + ms, 0);
      return plan.decide(info()) !== undefined;
    };
    expect(await at(0)).toBe(false);
    expect(await at(999)).toBe(false);
    expect(await at(1000)).toBe(true);
    expect(await at(2999)).toBe(true);
    expect(await at(3000)).toBe(false);
    plan.reset(); // at 3000: the window is relative to the plan's (re)start
    expect(await at(3999)).toBe(false);
    expect(await at(4000)).toBe(true);
    expect(await at(6000)).toBe(false);
  });

  it('ramp: the rate moves linearly and is held outside the ramp', () => {
    const ramp = { fromMs: 1000, toMs: 3000, fromRate: 0, toRate: 1 };
    expect(rampRate(ramp, 0)).toBe(0);
    expect(rampRate(ramp, 2000)).toBeCloseTo(0.5);
    expect(rampRate(ramp, 2500)).toBeCloseTo(0.75);
    expect(rampRate(ramp, 9000)).toBe(1);
  });

  it('ramp: injections become more frequent as the rate rises', async () => {
    const clock = new VirtualClock();
    const plan = createPlan({
      clock,
      seed: 5,
      rules: [
        { fault: 'server_error', injection: { ramp: { fromMs: 0, toMs: 10_000, fromRate: 0, toRate: 1 } } },
      ],
    });
    const hitsPerSecond: number[] = [];
    for (let second = 0; second < 10; second++) {
      let hits = 0;
      for (let i = 0; i < 100; i++) {
        if (plan.decide(info())) hits++;
        await clock.advance(10, 0);
      }
      hitsPerSecond.push(hits);
    }
    expect(hitsPerSecond[0]).toBeLessThan(15);
    expect(hitsPerSecond[9]).toBeGreaterThan(85);
    expect(hitsPerSecond[7]! + hitsPerSecond[8]! + hitsPerSecond[9]!).toBeGreaterThan(
      hitsPerSecond[0]! + hitsPerSecond[1]! + hitsPerSecond[2]! + 150,
    );
  });

  it('same seed, same order, same clock times → same decisions (with a ramp)', async () => {
    const run = async () => {
      const clock = new VirtualClock();
      const plan = createPlan({
        clock,
        seed: 77,
        rules: [
          { fault: 'server_error', injection: { ramp: { fromMs: 0, toMs: 5000, fromRate: 1, toRate: 0 } } },
        ],
      });
      let out = '';
      for (let i = 0; i < 500; i++) {
        out += plan.decide(info()) ? '1' : '0';
        await clock.advance(10, 0);
      }
      return out;
    };
    expect(await run()).toBe(await run());
  });
});

describe('targeting', () => {
  const fires = (rule: FaultRule, request: Partial<RequestInfo>) =>
    createPlan({ clock: new VirtualClock(), seed: 1, rules: [rule] }).decide(info(request)) !== undefined;

  it('provider, model glob, endpoint and stream', () => {
    expect(fires({ fault: 'server_error', target: { provider: 'openai' } }, {})).toBe(true);
    expect(fires({ fault: 'server_error', target: { provider: ['anthropic', 'ollama'] } }, {})).toBe(false);
    expect(fires({ fault: 'server_error', target: { model: 'gpt-4o*' } }, {})).toBe(true);
    expect(fires({ fault: 'server_error', target: { model: 'gpt-5?' } }, {})).toBe(false);
    expect(fires({ fault: 'server_error', target: { model: 'gpt-4o*' } }, { model: undefined })).toBe(false);
    expect(fires({ fault: 'server_error', target: { endpoint: '/v1/*' } }, {})).toBe(true);
    expect(fires({ fault: 'server_error', target: { endpoint: '/api/*' } }, {})).toBe(false);
    expect(fires({ fault: 'server_error', target: { stream: true } }, { stream: false })).toBe(false);
    expect(fires({ fault: 'server_error', target: { stream: true } }, { stream: true })).toBe(true);
  });

  it('body fields (dot paths, globs) and headers', () => {
    const body = { temperature: 0, response_format: { type: 'json_object' }, messages: [{ role: 'system' }] };
    const rule = (match: NonNullable<FaultRule['target']>['match']): FaultRule => ({
      fault: 'server_error',
      target: { match },
    });
    expect(fires(rule({ body: { 'response_format.type': 'json_*' } }), { body })).toBe(true);
    expect(fires(rule({ body: { 'messages.0.role': 'system', temperature: 0 } }), { body })).toBe(true);
    expect(fires(rule({ body: { temperature: 1 } }), { body })).toBe(false);
    const headers = new Headers({ 'x-switchyard-tenant': 'acme-eu' });
    expect(fires(rule({ headers: { 'x-switchyard-tenant': 'acme-*' } }), { headers })).toBe(true);
    expect(fires(rule({ headers: { 'x-switchyard-tenant': 'globex' } }), { headers })).toBe(false);
    expect(fires(rule({ headers: { 'x-other': '*' } }), { headers })).toBe(false);
  });

  it('end to end: only streamed Anthropic calls to claude-haiku-* get the fault', async () => {
    const chaos = chaosOverSimulator([
      { fault: 'overloaded', target: { provider: 'anthropic', model: 'claude-haiku-*', stream: true } },
    ]);
    expect((await chaos.handle(anthropicReq())).status).toBe(200);
    expect((await chaos.handle(anthropicReq({ stream: true }))).status).toBe(529);
    expect((await chaos.handle(anthropicReq({ stream: true, model: 'claude-sonnet-4-5' }))).status).toBe(200);
    expect((await chaos.handle(openaiReq({ stream: true }))).status).toBe(200);
  });
});

describe('globs', () => {
  /** What a glob means: `*` any run of characters, `?` one character, everything else itself. */
  const reference = (glob: string, value: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      's',
    ).test(value);

  it('match like the obvious regex, for any glob of *, ? and literals', () => {
    const glob = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '.', '/'), maxLength: 8 });
    const value = fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '\n'), maxLength: 10 });
    fc.assert(
      fc.property(glob, value, (g, v) => globMatch(g, v) === reference(g, v)),
      { numRuns: 5_000 },
    );
    expect(globMatch('claude-?-haiku*', 'claude-3-haiku-20240307')).toBe(true);
    expect(globMatch('gpt-4o', 'gpt-4o-mini')).toBe(false);
  });

  it('a pathological glob answers at once (a backtracking regex took 45 s)', () => {
    const plan = createPlan({
      clock: new VirtualClock(),
      seed: 1,
      rules: [{ fault: 'server_error', target: { model: `${'*a'.repeat(12)}*b` } }],
    });
    const started = performance.now();
    expect(plan.decide(info({ model: 'a'.repeat(36) }))).toBeUndefined();
    expect(globMatch(`${'*a'.repeat(40)}*b`, 'a'.repeat(10_000))).toBe(false);
    // Generous for a loaded machine; the regex needed tens of seconds.
    expect(performance.now() - started).toBeLessThan(1_000);
  }, 5_000);
});

describe('counters', () => {
  it('count requests seen and faults injected by fault, target and rule, as plain data', async () => {
    const chaos = chaosOverSimulator([
      {
        id: 'haiku-overload',
        fault: 'overloaded',
        target: { provider: 'anthropic' },
        injection: { firstN: 2 },
      },
      { id: 'openai-429', fault: 'rate_limit', target: { provider: 'openai' }, injection: { everyNth: 2 } },
    ]);
    for (let i = 0; i < 3; i++) {
      await (await chaos.handle(anthropicReq())).text();
      await (await chaos.handle(openaiReq())).text();
    }
    await (await chaos.handle(ollamaReq({ stream: false }))).text();
    const counters = chaos.counters();
    expect(JSON.parse(JSON.stringify(counters))).toEqual(counters);
    expect(counters.requests).toEqual({
      total: 7,
      byProvider: { anthropic: 3, openai: 3, ollama: 1 },
      byTarget: { 'anthropic/claude-haiku-4-5': 3, 'openai/gpt-4o-mini': 3, 'ollama/llama3.2': 1 },
    });
    expect(counters.injected).toEqual({
      total: 3,
      byFault: { overloaded: 2, rate_limit: 1 },
      byTarget: { 'anthropic/claude-haiku-4-5': { overloaded: 2 }, 'openai/gpt-4o-mini': { rate_limit: 1 } },
      byRule: { 'haiku-overload': 2, 'openai-429': 1 },
    });
    expect(counters.passedThrough).toBe(4);
    chaos.reset();
    expect(chaos.counters().requests.total).toBe(0);
  });

  it('stay bounded under hostile model names: distinct keys capped (the rest under "other"), names truncated', () => {
    const plan = createPlan({
      clock: new VirtualClock(),
      seed: 1,
      rules: [{ id: '__proto__', fault: 'server_error', target: { provider: 'openai' } }],
    });
    for (let i = 0; i < 1_000; i++) plan.decide(info({ model: `${i}-${'m'.repeat(100_000)}` }));
    const counters = plan.counters();
    const size = JSON.stringify(counters).length;
    // 1,000 names of 100 KB were 100 MB of counters.
    expect(size).toBeLessThan(200_000);
    const targets = Object.keys(counters.requests.byTarget);
    expect(targets.length).toBeLessThanOrEqual(257);
    expect(counters.requests.byTarget.other).toBeGreaterThan(0);
    expect(Object.values(counters.requests.byTarget).reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(Math.max(...targets.map((t) => t.length))).toBeLessThanOrEqual(200);
    expect(Object.keys(counters.injected.byTarget).length).toBeLessThanOrEqual(257);
    // A rule named __proto__ is counted like any other, not written to a prototype.
    expect(Object.hasOwn(counters.injected.byRule, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(counters.injected.byRule, '__proto__')?.value).toBe(1_000);
  });
});

describe('rule validation', () => {
  it('accepts good rules and names the first problem in bad ones', () => {
    expect(
      validateRules([{ fault: 'rate_limit', params: { retryAfterMs: 5 }, injection: { rate: 0.5 } }]),
    ).toHaveLength(1);
    expect(() => validateRules({})).toThrow('rules: must be an array');
    expect(() => validateRules([{ fault: 'explode' }])).toThrow("rules[0].fault: unknown fault 'explode'");
    expect(() => validateRules([{ fault: 'rate_limit', injection: { rate: 2 } }])).toThrow(
      'rules[0].injection.rate',
    );
    expect(() => validateRules([{ fault: 'rate_limit', target: { provider: 'gemini' } }])).toThrow(
      'rules[0].target.provider',
    );
    expect(() => validateRules([{ fault: 'rate_limit', extra: 1 }])).toThrow("unknown field 'extra'");
    expect(() =>
      validateRules([
        { id: 'x', fault: 'rate_limit' },
        { id: 'x', fault: 'server_error' },
      ]),
    ).toThrow("duplicate id 'x'");
    expect(() =>
      validateRules([
        { fault: 'rate_limit', injection: { ramp: { fromMs: 10, toMs: 5, fromRate: 0, toRate: 1 } } },
      ]),
    ).toThrow('ramp.toMs');
  });

  it('refuses what used to pass and then broke every request (header and body matches, inherited names)', () => {
    const target = (match: unknown) => [{ fault: 'server_error', target: { match } }];
    expect(() => validateRules(target({ headers: { 'x-tenant': 5 } }))).toThrow(
      "rules[0].target.match.headers['x-tenant']: must be a string",
    );
    expect(() => validateRules(target({ headers: { 'bad header': 'x' } }))).toThrow(
      'rules[0].target.match.headers: invalid header name',
    );
    expect(() => validateRules(target({ headers: ['x'] }))).toThrow(
      'rules[0].target.match.headers: must be an object',
    );
    expect(() => validateRules(target({ body: { temperature: { gt: 1 } } }))).toThrow(
      "rules[0].target.match.body['temperature']: must be a string, number, boolean or null",
    );
    expect(() => validateRules(target({ colour: 'red' }))).toThrow(
      "rules[0].target.match: unknown field 'colour'",
    );
    expect(() => validateRules([{ fault: 'server_error', target: { model: 'x'.repeat(300) } }])).toThrow(
      'rules[0].target.model: a glob is at most 256 characters',
    );
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() =>
        validateRules(JSON.parse(`[{ "fault": "rate_limit", "params": { "${name}": 1 } }]`)),
      ).toThrow(`unknown parameter '${name}'`);
    }
  });
});
