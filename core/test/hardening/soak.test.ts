/**
 * Soak under chaos: every applicable fault of the catalogue at once, at modest rates and in windows,
 * under 1,000 concurrent requests through a Router with retries, breaker, hedging, budget and cache.
 * Nothing may be left behind: no unsettled promise, no untyped failure, no pending timer, no budget
 * overshoot, no leaked handle, and (after warm-up) no heap growth round over round.
 *
 * In-process on a VirtualClock by default (seconds of wall time); SWITCHYARD_SOAK=long runs more
 * rounds. A second, shorter soak goes through the chaos proxy over real loopback sockets.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chaosFetch,
  createChaos,
  createSimulator,
  type FaultRule,
  startChaosProxy,
  ZERO_LATENCY,
} from '../../src/faults/index.ts';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { routerConfigSchema } from '../../src/runtime/config/schema.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import type { OllamaAdapter } from '../../src/runtime/providers/ollama.ts';
import { Router } from '../../src/runtime/router.ts';
import type { MemoryStore } from '../../src/runtime/state.ts';
import { drive } from '../router/stand-in.ts';
import {
  callOnce,
  catalogueRules,
  requestMix,
  resourceCounts,
  type Settled,
  soakConfig,
  TENANTS,
} from './soak-helpers.ts';

const LONG = process.env.SWITCHYARD_SOAK === 'long';
const ROUNDS = LONG ? 20 : 3;
const PER_ROUND = 1_000;
const FAKE_ENV = {
  OPENAI_API_KEY: 'sk-test-soak-openai-0000',
  ANTHROPIC_API_KEY: 'sk-test-soak-anthropic-0000',
};

/** A gc() handle: the flag can be set at run time, and a fresh context then exposes gc. */
function gcHandle(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

function tally(outcomes: Settled[]) {
  const kinds: Record<string, number> = {};
  const untyped: string[] = [];
  let ok = 0;
  for (const o of outcomes) {
    if (o.ok) ok++;
    else if ('kind' in o) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    else untyped.push(o.untyped);
  }
  return { ok, kinds, untyped };
}

// The SDKs log what they cannot parse (malformed_* faults) to the console: thousands of lines in a
// soak. Plain no-ops, not vi.spyOn: a spy records every call's arguments, which the heap check would see.
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const savedConsole = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
beforeEach(() => {
  for (const method of CONSOLE_METHODS) console[method] = () => undefined;
});
afterEach(() => {
  for (const [method, original] of savedConsole) console[method] = original;
});

/** Prints past the silenced console (timings for the report). */
const note = (line: string) => process.stderr.write(`${line}\n`);

describe('soak under chaos, in process on a virtual clock', () => {
  it(
    `${ROUNDS} rounds of ${PER_ROUND} concurrent requests: all settle typed, nothing left behind, heap flat`,
    async () => {
      const gc = gcHandle();
      const before = resourceCounts();
      const clock = new VirtualClock();
      const simulator = createSimulator({ clock, seed: 7, latency: { '*': ZERO_LATENCY } });
      const rules = catalogueRules(0.012, 1_500);
      const chaos = createChaos({ clock, seed: 7, rules, upstream: (r) => simulator.handle(r) });
      let seeded = 0x5eed;
      const config = routerConfigSchema.parse(
        soakConfig({
          baseURL: 'http://sim.test',
          timeouts: { headersMs: 800, firstTokenMs: 800, idleMs: 800, attemptMs: 3_000, totalMs: 12_000 },
          retry: { baseDelayMs: 50, maxDelayMs: 400 },
          hedgeDelayMs: 300,
          budgetUsd: 0.002,
          breakerOpenMs: 2_000,
        }),
      );
      // The built-in Ollama adapter, built here so the test can look into its SDK client (below).
      const ollama = createAdapter(config.deployments.find((d) => d.id === 'ollama')!, {
        fetch: chaosFetch(chaos),
      }) as OllamaAdapter;
      const router = new Router({
        config,
        adapters: { ollama },
        clock,
        env: FAKE_ENV,
        fetch: chaosFetch(chaos),
        random: () => {
          seeded = (seeded * 1_103_515_245 + 12_345) % 2_147_483_648;
          return seeded / 2_147_483_648;
        },
      });
      let traces = 0;
      let budgetSkips = 0;
      router.onTrace((trace) => {
        traces++;
        if (trace.candidates.some((c) => c.skipped === 'budget')) budgetSkips++;
      });

      const heaps: number[] = [];
      const wall = Date.now();
      for (let round = 0; round < ROUNDS; round++) {
        // Each round in a new budget hour, with the fault plan (windows included) restarted.
        await clock.advance(3_600_000, 0);
        chaos.reset();
        // A breaker left open by the last round lets one probe through, so 1,000 simultaneous arrivals
        // would nearly all fail fast (by design). The quiet hour stands for a recovery: each open
        // breaker's probe succeeds before the next burst.
        for (const id of ['openai', 'anthropic', 'ollama']) {
          const gate = await router.breakers.acquire(id);
          if (gate.allowed) await router.breakers.record(id, 'success', gate.probe);
        }
        const tracesBefore = traces;
        const mix = requestMix(PER_ROUND, 1 + round);
        let settled = 0;
        const all = Promise.all(
          mix.map(({ request, stream }) =>
            callOnce(router, request, stream).finally(() => {
              settled++;
            }),
          ),
        );
        const outcomes = await drive(clock, all, () => settled, { quietTurns: 3, maxJumps: 200_000 });
        const { ok, kinds, untyped } = tally(outcomes);

        expect(untyped, 'untyped failures').toEqual([]);
        expect(settled).toBe(PER_ROUND);
        expect(traces - tracesBefore, 'one decision trace per request').toBe(PER_ROUND);
        expect(ok, JSON.stringify(kinds)).toBeGreaterThan(PER_ROUND * 0.3);
        expect(clock.pendingTimers, 'timers left after the round').toBe(0);
        for (const tenant of TENANTS) {
          for (const budget of await router.budgets.snapshot(tenant)) {
            expect(budget.spentUsd, `${tenant} overshoot`).toBeLessThanOrEqual(budget.limitUsd + 1e-9);
            expect(budget.reservedUsd, `${tenant} reservations left open`).toBe(0);
          }
        }
        // ollama-js keeps each streamed request in a list until its done line: the adapter must drop
        // the ones that failed (regression: they piled up for the client's lifetime).
        const ongoing = (ollama.client as unknown as { ongoingStreamedRequests: unknown[] })
          .ongoingStreamedRequests;
        expect(ongoing, 'streams left in the Ollama client').toHaveLength(0);
        const injected = chaos.counters().injected;
        if (round === 0) {
          // The chaos was real: many faults fired, and the budget bit.
          expect(Object.keys(injected.byFault).length, JSON.stringify(injected.byFault)).toBeGreaterThan(15);
          // Over budget, the priced clouds are skipped and the (free) local model answers.
          expect(budgetSkips).toBeGreaterThan(0);
        }
        heaps.push(heapAfterGc(gc));
      }
      const wallMs = Date.now() - wall;

      // Memory flat after warm-up: the last round within +25% (and +8 MiB of noise) of the second.
      const second = heaps[1]!;
      const last = heaps.at(-1)!;
      expect(
        last,
        `heap per round (MiB): ${heaps.map((h) => (h / 2 ** 20).toFixed(1)).join(', ')}`,
      ).toBeLessThan(second * 1.25 + 8 * 2 ** 20);

      // No leaked handles: in-process delivery opens no socket and the virtual clock no real timer.
      const after = resourceCounts();
      for (const [type, count] of Object.entries(after)) {
        expect(count, `${type}: before ${before[type] ?? 0}, after ${count}`).toBeLessThanOrEqual(
          before[type] ?? 0,
        );
      }
      note(
        `[soak] ${ROUNDS}×${PER_ROUND} requests in ${wallMs} ms wall; heap MiB ${heaps.map((h) => (h / 2 ** 20).toFixed(1)).join(' ')}`,
      );
    },
    LONG ? 600_000 : 120_000,
  );
});

describe('soak: the default store under one-off prompts', () => {
  it('expired cache entries of prompts never seen again do not pile up (regression)', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 1, latency: { '*': ZERO_LATENCY } });
    const chaos = createChaos({ clock, seed: 1, rules: [], upstream: (r) => simulator.handle(r) });
    const router = new Router({
      clock,
      fetch: chaosFetch(chaos),
      env: FAKE_ENV,
      config: {
        deployments: [
          {
            id: 'openai',
            provider: 'openai',
            model: 'gpt-4.1',
            baseURL: 'http://sim.test/v1',
            apiKey: { env: 'OPENAI_API_KEY' },
          },
        ],
        routes: [{ name: 'chat', deployments: ['openai'] }],
        cache: { enabled: true, ttlMs: 60_000 },
      },
    });
    const sizes: number[] = [];
    let n = 0;
    for (let round = 0; round < 5; round++) {
      // Every earlier answer is long expired when the next burst of new prompts arrives.
      await clock.advance(3_600_000, 0);
      let settled = 0;
      const all = Promise.all(
        Array.from({ length: 600 }, () =>
          router
            .complete({
              model: 'chat',
              maxOutputTokens: 16,
              messages: [{ role: 'user', content: `one-off ${n++}` }],
            })
            .finally(() => {
              settled++;
            }),
        ),
      );
      await drive(clock, all, () => settled, { quietTurns: 3, maxJumps: 200_000 });
      sizes.push((router.store as MemoryStore).size);
    }
    // Live entries are at most this round's 600 answers (+ breaker/latency keys); before the fix the
    // store held every answer ever cached: 602, 1202, 1802, 2402, 3002.
    expect(Math.max(...sizes), sizes.join(' ')).toBeLessThan(1_300);
  });
});

describe('soak through the chaos proxy on a loopback socket', () => {
  it('300 requests at concurrency 50 with resets and stalls: all settle typed, sockets back to baseline', async () => {
    const sockets = () => {
      const counts = resourceCounts();
      return (counts.TCPSocketWrap ?? 0) + (counts.TCPServerWrap ?? 0);
    };
    const baseline = sockets();
    const proxy = await startChaosProxy({
      seed: 11,
      mode: 'simulate',
      simulator: { latency: { '*': ZERO_LATENCY } },
      // Faults are switched on after a warm-up (first SDK calls and first connections are slow).
      rules: [],
    });
    const rules: FaultRule[] = [
      { fault: 'connection_reset', injection: { rate: 0.08 } },
      { fault: 'stall_after_headers', injection: { rate: 0.08 } },
      { fault: 'no_response', injection: { rate: 0.03 } },
      { fault: 'half_close', injection: { rate: 0.03 } },
      { fault: 'server_error', injection: { rate: 0.05 } },
      { fault: 'rate_limit', params: { retryAfterMs: 20 }, injection: { rate: 0.05 } },
      { fault: 'stream_cut', injection: { rate: 0.05 } },
    ];
    let settledOk = false;
    try {
      const router = new Router({
        config: soakConfig({
          baseURL: proxy.url,
          // Real time on a shared CI machine: deadlines with room for a starved CPU, so that only the
          // injected stalls (which never end) run into them, not slow but healthy exchanges.
          timeouts: {
            headersMs: 2_000,
            firstTokenMs: 1_000,
            idleMs: 1_000,
            attemptMs: 4_000,
            totalMs: 12_000,
          },
          retry: { baseDelayMs: 5, maxDelayMs: 30 },
          hedgeDelayMs: 150,
          budgetUsd: 1_000,
          breakerOpenMs: 300,
        }),
        env: FAKE_ENV,
      });
      const mix = requestMix(300, 99);
      for (const warm of requestMix(6, 5)) await callOnce(router, warm.request, warm.stream);
      proxy.chaos.setRules(rules);
      const outcomes: Settled[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < mix.length; i = next++) {
          outcomes.push(await callOnce(router, mix[i]!.request, mix[i]!.stream));
        }
      };
      const started = Date.now();
      await Promise.race([
        Promise.all(Array.from({ length: 50 }, worker)),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('proxy soak did not settle in 60 s')), 60_000).unref(),
        ),
      ]);
      const { ok, kinds, untyped } = tally(outcomes);
      expect(untyped, 'untyped failures').toEqual([]);
      expect(outcomes).toHaveLength(300);
      expect(ok, JSON.stringify(kinds)).toBeGreaterThan(150);
      const injected = proxy.chaos.counters().injected.byFault;
      expect(injected.connection_reset ?? 0).toBeGreaterThan(0);
      expect(injected.stall_after_headers ?? 0).toBeGreaterThan(0);
      settledOk = true;
      note(`[soak/proxy] 300 requests in ${Date.now() - started} ms; ${JSON.stringify(kinds)}`);
    } finally {
      await proxy.close();
    }
    expect(settledOk).toBe(true);
    // Stalled and aborted exchanges must not hold sockets: once the proxy is closed, client and server
    // sides both return to the baseline (polled, bounded: keep-alive sockets close asynchronously).
    const deadline = Date.now() + 5_000;
    while (sockets() > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(sockets(), JSON.stringify(resourceCounts())).toBe(baseline);
  });
});
