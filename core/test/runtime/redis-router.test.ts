import { describe, expect, it } from 'vitest';
import { chaosFetch } from '../../src/faults/delivery/fetch.ts';
import { createSimulator } from '../../src/faults/simulator/index.ts';
import { RealClock } from '../../src/runtime/clock.ts';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { Router } from '../../src/runtime/router.ts';
import type { DecisionTrace } from '../../src/runtime/trace/trace.ts';
import { newPrefix, redisForTests, WITH_REDIS } from '../support/redis.ts';

/**
 * The router over a RedisStore against a real redis-server and the simulated providers: a request
 * costs two round trips (gate, settle), streamed or not, and routers sharing one Redis share
 * round-robin turns, learned rewrites and the budget ledger as one router would.
 */

const redis = redisForTests('none');

const KEY = 'sk-test-not-a-real-key';
const CONFIG: RouterConfigInput = {
  deployments: [
    { id: 'a', provider: 'openai', model: 'gpt-4.1', apiKey: { env: 'K' } },
    { id: 'b', provider: 'openai', model: 'gpt-4.1-mini', apiKey: { env: 'K' } },
    { id: 'r', provider: 'openai', model: 'gpt-4o-mini', apiKey: { env: 'K' } },
  ],
  routes: [
    { name: 'chat', deployments: ['a'] },
    { name: 'turns', strategy: 'round-robin', deployments: ['a', 'b'] },
    { name: 'reasoning', deployments: ['r'] },
  ],
  budgets: [{ tenant: 'acme', period: 'day', limitUsd: 5 }],
  policies: { hedge: { enabled: false } },
};
const ask = (model: string) => ({
  model,
  tenant: 'acme',
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
  maxOutputTokens: 40,
});

async function replica(prefix?: string) {
  const clock = new RealClock();
  const store = await redis.store({ clock, ...(prefix ? { prefix } : {}) });
  const simulated = chaosFetch(createSimulator({ clock, seed: 3 }));
  // A provider that rejects `temperature` on one model, as reasoning models do (the outside world).
  const picky: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = await request.clone().text();
    if (body.includes('"gpt-4o-mini"') && body.includes('"temperature"'))
      return Response.json(
        {
          error: {
            message: "Unsupported parameter: 'temperature' is not supported with this model.",
            type: 'invalid_request_error',
            param: 'temperature',
            code: 'unsupported_parameter',
          },
        },
        { status: 400 },
      );
    return simulated(request);
  };
  const router = new Router({ config: CONFIG, clock, store, env: { K: KEY }, fetch: picky });
  const traces: DecisionTrace[] = [];
  router.onTrace((trace) => traces.push(trace));
  return { router, store, traces };
}

describe.runIf(WITH_REDIS)('the router over a RedisStore', () => {
  it('takes two round trips per budgeted request, streamed and not: the gate and the settle', async () => {
    const { router, store, traces } = await replica();
    await router.complete(ask('chat')); // warm: connection, script loaded
    let before = store.calls;
    await router.complete(ask('chat'));
    expect(store.calls - before).toBe(2);
    before = store.calls;
    for await (const _ of router.stream(ask('chat'))) {
      // read to the end
    }
    expect(store.calls - before).toBe(2);
    const spent = traces.reduce((sum, t) => sum + t.costUsd, 0);
    const [snapshot] = await router.budgets.snapshot('acme');
    expect(snapshot!.spentUsd).toBeCloseTo(spent, 9);
    expect(snapshot!.reservedUsd).toBe(0);
  });

  it('shares round-robin turns and learned rewrites between routers on one Redis', async () => {
    const one = await replica();
    // Two routers on one prefix, each with its own connection: two replicas.
    const shared = newPrefix();
    const two = await replica(shared);
    const three = await replica(shared);
    const served: string[] = [];
    for (const r of [two, three, two, three]) {
      const answer = await r.router.complete(ask('turns'));
      served.push(answer.deployment);
    }
    expect(served).toEqual(['a', 'b', 'a', 'b']);
    // One replica learns that the deployment rejects `temperature`; the other rewrites it at once.
    await two.router.complete({ ...ask('reasoning'), temperature: 0.3 });
    expect(two.traces.at(-1)!.attempts.map((a) => a.next)).toEqual(['rewrite-and-retry', 'done']);
    await three.router.complete({ ...ask('reasoning'), temperature: 0.3 });
    expect(three.traces.at(-1)!.attempts.map((a) => [a.next, a.rewrittenParams])).toEqual([
      ['done', ['temperature']],
    ]);
    // A router on another prefix shares nothing.
    await one.router.complete({ ...ask('reasoning'), temperature: 0.3 });
    expect(one.traces.at(-1)!.attempts).toHaveLength(2);
  });
});
