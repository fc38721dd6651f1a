/**
 * Budgets under concurrency: N (default 2,000) concurrent requests of one tenant through a Router
 * with a budget (never refusing: the limit is far away), against the same requests through a Router
 * without budgets, side by side in one process, alternating A/B rounds.
 * All N are held in flight on a VirtualClock (a 2 s time to first token) until every one reached the
 * simulator, so N reservations are open at once; then the clock is released. The figure is the wall
 * time from launch to the last settled request. Issue 10 measured 35.6 s with budgets and 4.0 s
 * without, for 2,000 requests, when every reserve and settle copied all open reservations.
 */
import { nextTurn, type Router, type RouterConfigInput, VirtualClock } from '@switchyard/core';
import { emit } from '../lib/result.ts';
import { benchRouter, heldSimulatorFetch, singleOpenAIConfig } from '../lib/sim.ts';
import { median, round } from '../lib/stats.ts';

const N = Number(process.env.BENCH_BUDGET_REQUESTS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_BUDGET_ROUNDS ?? 3);
const TTFT_MS = 2_000;
const messages = [{ role: 'user' as const, content: 'Summarise TCP in one line.' }];

function setup(budgets: boolean) {
  const clock = new VirtualClock();
  const held = heldSimulatorFetch(clock, TTFT_MS);
  const config: RouterConfigInput = {
    ...singleOpenAIConfig(),
    ...(budgets ? { budgets: [{ tenant: '*', period: 'hour', limitUsd: 1_000_000 }] } : {}),
  };
  const router = benchRouter(config, held.fetch, clock);
  return { clock, router, arrived: held.arrived };
}

/** Launches N requests, holds them in flight, releases them; wall ms until all settled. */
async function measure(budgets: boolean): Promise<{ ms: number; ok: number; router: Router; spent: number }> {
  const { clock, router, arrived } = setup(budgets);
  // Warm-up (JIT, SDK lazy init), outside the measurement.
  const warm = router.complete({ model: 'chat', messages, maxOutputTokens: 16, tenant: 'warm' });
  while (arrived() < 1) await nextTurn();
  await clock.advance(TTFT_MS + 10, 1);
  await warm;
  let settled = 0;
  let ok = 0;
  let spent = 0;
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    router
      .complete({ model: 'chat', messages, maxOutputTokens: 16, tenant: 'acme' })
      .then(
        (response) => {
          ok++;
          spent += response.costUsd;
        },
        () => undefined,
      )
      .finally(() => {
        settled++;
      });
  }
  const deadline = Date.now() + 240_000;
  while (arrived() < N + 1 && Date.now() < deadline) await nextTurn();
  await clock.advance(TTFT_MS + 10, 1);
  while (settled < N && Date.now() < deadline) {
    await nextTurn();
    if (clock.pendingTimers > 0 && settled < N) await clock.advance(1_000, 1);
  }
  return { ms: performance.now() - started, ok, router, spent };
}

const withBudgets: number[] = [];
const without: number[] = [];
let lost = 0;
let ledgerExact = true;
for (let r = 0; r < ROUNDS; r++) {
  const a = await measure(false);
  const b = await measure(true);
  without.push(a.ms);
  withBudgets.push(b.ms);
  lost += N - a.ok + (N - b.ok);
  // The ledger holds nothing once all settled, and it charged what the responses cost.
  let spent = 0;
  for (const s of await b.router.budgets.snapshot('acme')) {
    spent += s.spentUsd;
    if (s.reservedUsd !== 0) ledgerExact = false;
  }
  if (Math.abs(spent - b.spent) > 1e-9) ledgerExact = false;
  console.log(
    `budgets: round ${r + 1}: ${N} requests without budgets ${round(a.ms, 0)} ms, with ${round(b.ms, 0)} ms`,
  );
}

const budgetsMs = median(withBudgets);
const noBudgetsMs = median(without);
emit({
  metrics: {
    requests: N,
    with_budgets_ms: round(budgetsMs, 0),
    without_budgets_ms: round(noBudgetsMs, 0),
    budgets_ratio: round(budgetsMs / noBudgetsMs, 2),
  },
  checks: {
    'no request lost or refused': lost === 0,
    'the ledger holds nothing afterwards and charged exactly what was spent': ledgerExact,
  },
});
