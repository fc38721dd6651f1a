import { describe, expect, it } from 'vitest';
import { FAULT_IDS, FAULTS, type FaultId } from '../../src/faults/chaos/catalogue.ts';
import { createChaos } from '../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../src/faults/chaos/plan.ts';
import { chaosFetch } from '../../src/faults/delivery/fetch.ts';
import { createSimulator, ZERO_LATENCY } from '../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { isSwitchyardError, type SwitchyardError } from '../../src/runtime/errors.ts';
import { classifyHttpResponse, createAdapter } from '../../src/runtime/providers/index.ts';
import type { Provider } from '../../src/runtime/types.ts';
import { deployment, FAKE_KEY } from './helpers.ts';

/**
 * classifyHttpResponse reads an HTTP error answer off the wire (status, headers, body text) the way
 * the router classifies the SDK error the same answer becomes. For every error answer the fault
 * catalogue can give (each HTTP fault, each provider, with and without a rule's own Retry-After), the
 * real SDK is called through its adapter with the fault in front of the simulator, and the answer it
 * got is classified from the wire: kind, status, Retry-After, timeout phase, rejected parameter and
 * request id must agree.
 */

const MODELS: Record<Provider, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  ollama: 'llama3.2',
};

interface Case {
  label: string;
  provider: Provider;
  rule: FaultRule;
}

const VARIANTS: Partial<Record<FaultId, Array<Omit<FaultRule, 'fault'>>>> = {
  rate_limit: [
    { params: { retryAfterMs: 1500 } },
    { params: { retryAfterMs: 1500, retryAfterMsHeader: false } },
    { retryAfter: { ms: 30_000, format: 'http-date' } },
  ],
  http_error: [
    {},
    { params: { status: 403, type: 'permission_error', message: 'not allowed' } },
    { params: { status: 404, type: 'not_found_error', message: 'model: nope' } },
    { params: { status: 408, type: 'timeout', message: 'slow' } },
  ],
  service_unavailable: [{}, { retryAfter: { ms: 20_000, format: 'seconds' } }],
  overloaded: [{}, { retryAfter: { ms: 5_000, format: 'seconds' } }],
  unsupported_parameter: [{}, { params: { param: 'temperature' } }],
};

const CASES: Case[] = [];
for (const fault of FAULT_IDS) {
  const definition = FAULTS[fault];
  if (definition.category !== 'http_error') continue;
  for (const variant of VARIANTS[fault] ?? [{}]) {
    for (const provider of definition.providers) {
      const rule: FaultRule = { fault, ...variant, injection: { firstN: 1 } };
      CASES.push({ label: `${fault} ${JSON.stringify(variant)} · ${provider}`, provider, rule });
    }
  }
}

/** The fault's answer as the SDK got it, and what the adapter made of it. */
async function throughTheSdk(c: Case) {
  const clock = new VirtualClock();
  const simulator = createSimulator({ clock, seed: 5, latency: { '*': ZERO_LATENCY } });
  const chaos = createChaos({ clock, seed: 5, rules: [c.rule], upstream: (r) => simulator.handle(r) });
  const deliver = chaosFetch(chaos);
  let seen: { status: number; headers: Headers; body: string } | undefined;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await deliver(input, init);
    seen = { status: response.status, headers: response.headers, body: await response.clone().text() };
    return response;
  };
  const adapter = createAdapter(
    deployment({
      provider: c.provider,
      model: MODELS[c.provider],
      baseURL: c.provider === 'openai' ? 'http://sim.test/v1' : 'http://sim.test',
    }),
    { apiKey: FAKE_KEY, fetch },
  );
  let error: SwitchyardError | undefined;
  try {
    await adapter.complete(
      { messages: [{ role: 'user', content: 'Say something.' }], maxOutputTokens: 50 },
      { signal: new AbortController().signal, now: () => clock.now() },
    );
  } catch (caught) {
    if (!isSwitchyardError(caught)) throw caught;
    error = caught;
  }
  return { seen: seen!, error: error!, now: clock.now() };
}

const facts = (e: SwitchyardError) => ({
  kind: e.kind,
  status: e.status,
  retryAfterMs: e.retryAfterMs,
  timeoutPhase: e.timeoutPhase,
  param: e.param,
  requestId: e.requestId,
});

describe('classifyHttpResponse agrees with the router on every error answer of the catalogue', () => {
  it('covers every HTTP fault and provider', () => {
    const faults = new Set(CASES.map((c) => c.rule.fault));
    expect([...faults].sort()).toEqual(FAULT_IDS.filter((f) => FAULTS[f].category === 'http_error').sort());
    expect(CASES.length).toBeGreaterThan(35);
  });

  it.each(CASES)('$label', async (c) => {
    const { seen, error, now } = await throughTheSdk(c);
    expect(error, 'the SDK call failed').toBeDefined();
    expect(seen.status).toBeGreaterThanOrEqual(400);
    const fromWire = classifyHttpResponse(c.provider, seen.status, seen.headers, seen.body, { nowMs: now });
    expect(facts(fromWire)).toEqual(facts(error));
  });

  it('a body that is not JSON (an HTML page) classifies by status', () => {
    const html = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    expect(classifyHttpResponse('openai', 502, new Headers(), html).kind).toBe('server_error');
    expect(classifyHttpResponse('anthropic', 504, new Headers(), html)).toMatchObject({
      kind: 'timeout',
      timeoutPhase: 'headers',
    });
    expect(classifyHttpResponse('ollama', 429, new Headers({ 'retry-after': '3' }), '')).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 3000,
    });
  });
});
