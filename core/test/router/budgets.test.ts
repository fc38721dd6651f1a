import { afterEach, describe, expect, it } from 'vitest';
import { chaosFetch } from '../../src/faults/delivery/fetch.ts';
import { createSimulator } from '../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { SwitchyardError } from '../../src/runtime/errors.ts';
import { Router } from '../../src/runtime/router.ts';
import type { DecisionTrace } from '../../src/runtime/trace/trace.ts';
import type { StreamEvent } from '../../src/runtime/types.ts';
import { ask, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive, type Step } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

const acme = { ...ask, tenant: 'acme' };
/** gpt-4.1 at $2 / $8 per million tokens (the table's price, written out so the figures below follow). */
const budgeted = (limitUsd = 1) => ({
  routes: [{ name: 'chat', deployments: ['primary'] }],
  prices: { 'gpt-4.1': { input: 2, output: 8 } },
  budgets: [{ tenant: 'acme', period: 'day' as const, limitUsd }],
});
const costOf = (input: number, output: number) => (input * 2 + output * 8) / 1_000_000;

async function ledger(router: Router) {
  const [snapshot] = await router.budgets.snapshot('acme');
  return snapshot!;
}

const totalCost = (traces: readonly DecisionTrace[]) => traces.reduce((sum, t) => sum + t.costUsd, 0);

// Issue 10, defect 1: the reservation of a stream was released at $0 when its first token arrived and
// its final cost never reached the ledger (300 streams against $0.05 spent $0.32 with the ledger at $0).
describe('a streamed call and its budget', () => {
  it('holds its reservation while it streams, and settles it at the final cost when it ends', async () => {
    const { router, traces } = makeRouter(budgeted());
    standIn.script(PRIMARY, { kind: 'ok', text: 'one two three', usage: { prompt: 1_000, completion: 40 } });
    const stream = router.stream(acme);
    const events: StreamEvent[] = [];
    await drive(
      clock,
      (async () => {
        for await (const event of stream) {
          events.push(event);
          if (event.type === 'text-delta' && events.filter((e) => e.type === 'text-delta').length === 1) {
            // Mid-stream: the money is still held.
            expect((await ledger(router)).reservedUsd).toBeGreaterThan(0);
          }
        }
      })(),
    );
    expect(streamedText(events)).toBe('one two three');
    const after = await ledger(router);
    expect(after.reservedUsd).toBe(0);
    expect(after.spentUsd).toBeCloseTo(costOf(1_000, 40), 12);
    expect(traces[0]!.attempts[0]!.costUsd).toBeCloseTo(costOf(1_000, 40), 12);
    expect(traces[0]!.attempts[0]!.costEstimated).toBeUndefined();
  });

  it('the ledger equals the sum of what every stream cost', async () => {
    const { router, traces } = makeRouter(budgeted());
    for (let i = 0; i < 5; i++) await drive(clock, collect(router.stream(acme)));
    expect(totalCost(traces)).toBeGreaterThan(0);
    expect((await ledger(router)).spentUsd).toBeCloseTo(totalCost(traces), 12);
  });

  it('a stream cut part-way is charged what it streamed, estimated from the counted tokens', async () => {
    const { router, traces } = makeRouter(budgeted());
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hello', ' there', ' friend'], cut: true });
    const events = await drive(clock, collect(router.stream(acme)));
    expect(events.at(-1)!.type).toBe('error');
    const attempt = traces[0]!.attempts[0]!;
    expect(attempt.costEstimated).toBe(true);
    expect(attempt.costUsd).toBeGreaterThan(0);
    expect(attempt.usage?.outputTokens).toBe(3); // 'Hello there friend' in o200k
    const after = await ledger(router);
    expect(after).toMatchObject({ reservedUsd: 0 });
    expect(after.spentUsd).toBeCloseTo(attempt.costUsd, 12);
    expect(traces[0]!.wastedUsd).toBeCloseTo(attempt.costUsd, 12);
  });

  it('a stream the caller stops reading is settled at once, at what it had streamed', async () => {
    const { router, traces } = makeRouter(budgeted());
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hello', ' there', ' friend'], stall: true });
    await drive(
      clock,
      (async () => {
        for await (const event of router.stream(acme)) if (event.type === 'text-delta') break;
      })(),
    );
    // No clock advance: settled on the caller's break, not by a deadline or a lease.
    const attempt = traces[0]!.attempts[0]!;
    expect(attempt).toMatchObject({ outcome: 'aborted', errorKind: 'cancelled', costEstimated: true });
    const after = await ledger(router);
    expect(after.reservedUsd).toBe(0);
    expect(after.spentUsd).toBeCloseTo(attempt.costUsd, 12);
    expect(attempt.costUsd).toBeGreaterThan(0);
  });
});

/** A 200 whose usage is `usage` (raw, as the provider sent it; undefined: none). */
const answerWithUsage = (usage: unknown): Step => ({
  kind: 'raw-ok',
  content: 'Hello there friend',
  ...(usage === undefined ? {} : { usage }),
});
const streamWithUsage = (usage: unknown): Step => ({
  kind: 'stream',
  chunks: ['Hello', ' there', ' friend'],
  usage: usage === undefined ? null : usage,
});
const usages: Array<[string, unknown]> = [
  ['missing', undefined],
  ['negative', { prompt_tokens: -500, completion_tokens: 3, total_tokens: -497 }],
  ['not numbers', { prompt_tokens: 'many', completion_tokens: 'few', total_tokens: 'lots' }],
  ['absurd', { prompt_tokens: 1e15, completion_tokens: 1e15, total_tokens: 2e15 }],
  ['zero for an answer', { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }],
];

// Issue 10, defect 9: usage figures were trusted blindly: negative, non-numeric or absurd usage gave a
// negative, NaN or huge cost, and a response with no usage was charged $0.
describe.each([
  { name: 'non-streamed', step: answerWithUsage, call: (r: Router) => r.complete(acme) },
  { name: 'streamed', step: streamWithUsage, call: (r: Router) => collect(r.stream(acme)) },
])('usage that cannot be billed as reported ($name)', ({ step, call }) => {
  it.each(usages)('%s: the attempt is charged an estimate, marked as such', async (_, usage) => {
    const { router, traces } = makeRouter(budgeted());
    standIn.script(PRIMARY, step(usage));
    await drive(clock, call(router) as Promise<unknown>);
    const attempt = traces[0]!.attempts[0]!;
    expect(attempt.outcome).toBe('success');
    expect(attempt.costEstimated).toBe(true);
    const estimated = costOf(traces[0]!.estimatedInputTokens, 3);
    expect(attempt.costUsd).toBeCloseTo(estimated, 12);
    expect(attempt.usage).toEqual({
      inputTokens: traces[0]!.estimatedInputTokens,
      outputTokens: 3,
      cachedInputTokens: 0,
    });
    const after = await ledger(router);
    expect(after.spentUsd).toBeCloseTo(estimated, 12);
    expect(traces[0]!.budgetEvents?.at(-1)).toMatchObject({ op: 'settle', estimated: true });
  });
});

// Issue 10, defect 11: every request without max_tokens reserved 4,096 output tokens, so under
// concurrency most fell back long before the budget was spent (6 of 40 served at 38% of the limit).
describe('reservations', () => {
  it('reserve from max_tokens when the request gives it', async () => {
    const { router, traces } = makeRouter(budgeted());
    await drive(clock, router.complete({ ...acme, maxOutputTokens: 100 }));
    const reserve = traces[0]!.budgetEvents!.find((e) => e.op === 'reserve')!;
    expect(reserve.amountUsd).toBeCloseTo(costOf(traces[0]!.estimatedInputTokens, 100), 12);
  });

  it("otherwise reserve twice the deployment's longest recent answer (at least 256 tokens), and send it as max_tokens", async () => {
    const { router, traces } = makeRouter(budgeted(0.2));
    const open = { model: 'chat', tenant: 'acme', messages: ask.messages };
    // Until 10 answers were seen: the stated upper bound, 4,096 tokens.
    for (let i = 0; i < 10; i++) await drive(clock, router.complete(open));
    expect(standIn.calls[0]!.body.max_tokens).toBe(4_096);
    // 40 callers at once: each reserves 256 output tokens now ($0.0021), not 4,096 ($0.033).
    const outcomes = await drive(
      clock,
      Promise.all(
        Array.from({ length: 40 }, () =>
          router.complete(open).then(
            () => 'served',
            (e: SwitchyardError) => e.kind,
          ),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'served')).toHaveLength(40);
    expect(standIn.calls.at(-1)!.body.max_tokens).toBe(256);
    const reserve = traces.at(-1)!.budgetEvents!.find((e) => e.op === 'reserve')!;
    expect(reserve.amountUsd).toBeCloseTo(costOf(traces.at(-1)!.estimatedInputTokens, 256), 12);
  });
});

/**
 * The no-overshoot guarantee, against the simulator (which honours max_tokens and reports real
 * usage): many concurrent callers, half of them streaming, none setting max_tokens, race for one
 * budget. What the attempts actually cost — summed from the traces, not read from the ledger — never
 * passes the limit, and the ledger agrees with it.
 */
describe('no overshoot under concurrency, streamed and not', () => {
  it('keeps the sum of actual costs within the limit, and the ledger equal to it', async () => {
    const sim = new VirtualClock();
    const simulator = createSimulator({ clock: sim, seed: 7 });
    const traces: DecisionTrace[] = [];
    const limitUsd = 0.02;
    const router = new Router({
      config: {
        deployments: [
          {
            id: 'mini',
            provider: 'openai',
            model: 'gpt-4o-mini',
            baseURL: 'http://sim.test/v1',
            apiKey: { env: 'K' },
          },
        ],
        routes: [{ name: 'chat', deployments: ['mini'] }],
        policies: { retry: { maxAttempts: 1 } },
        budgets: [{ tenant: 'acme', period: 'day', limitUsd }],
      },
      clock: sim,
      env: { K: 'sk-test-not-a-real-key' },
      random: () => 0.5,
      fetch: chaosFetch(simulator),
    });
    router.onTrace((t) => traces.push(t));
    const request = (i: number) => ({
      model: 'chat',
      tenant: 'acme',
      messages: [{ role: 'user' as const, content: `Write about topic ${i} at length.` }],
    });
    const one = async (i: number) => {
      if (i % 2 === 0)
        return router.complete(request(i)).then(
          () => 'served',
          (e: SwitchyardError) => e.kind,
        );
      const events = await collect(router.stream(request(i)));
      const last = events.at(-1)!;
      return last.type === 'done' ? 'served' : last.type === 'error' ? last.error.kind : 'unfinished';
    };
    const outcomes: string[] = [];
    for (let wave = 0; wave < 4; wave++) {
      outcomes.push(
        ...(await drive(sim, Promise.all(Array.from({ length: 100 }, (_, i) => one(wave * 100 + i))))),
      );
    }
    const spent = totalCost(traces);
    const [snapshot] = await router.budgets.snapshot('acme');
    expect(outcomes.filter((o) => o === 'served').length).toBeGreaterThan(20);
    expect(outcomes.filter((o) => o === 'budget_exceeded').length).toBeGreaterThan(0);
    expect(traces.filter((t) => t.stream && t.outcome === 'success').length).toBeGreaterThan(5);
    expect(spent).toBeLessThanOrEqual(limitUsd);
    expect(snapshot!.spentUsd).toBeCloseTo(spent, 9);
    expect(snapshot!.reservedUsd).toBe(0);
  });
});
