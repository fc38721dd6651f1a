import { afterEach, describe, expect, it } from 'vitest';
import type { Router } from '../../src/runtime/router.ts';
import { ask, BIG, collect, deployment, PRIMARY, routerFixture } from './fixture.ts';
import { drive, serverError } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

const modes = [
  {
    name: 'non-streamed',
    run: (router: Router, model: string) => drive(clock, router.complete({ ...ask, model })),
  },
  {
    name: 'streamed',
    run: (router: Router, model: string) => drive(clock, collect(router.stream({ ...ask, model }))),
  },
] as const;

// Issue 10, defect 5: a route's retry.budget passed validation and was ignored (the router used the
// global one). A route that sets one now has a retry budget of its own, counted apart.
describe.each(modes)("a route's own retry budget ($name)", ({ run }) => {
  it('is the one its requests spend; other routes keep the global budget', async () => {
    const { router, traces } = makeRouter({
      deployments: [deployment('primary', PRIMARY), deployment('big', BIG)],
      routes: [
        {
          name: 'strict',
          deployments: ['primary'],
          fallbacks: ['big'],
          policies: { retry: { budget: { ratio: 0, minRetriesPerSecond: 0, windowMs: 10_000 } } },
        },
        { name: 'lenient', deployments: ['primary'], fallbacks: ['big'] },
      ],
      policies: {
        retry: {
          maxAttempts: 2,
          baseDelayMs: 10,
          budget: { ratio: 1, minRetriesPerSecond: 100, windowMs: 10_000 },
        },
      },
    });
    standIn.script(PRIMARY, serverError(), serverError());
    await run(router, 'strict');
    await run(router, 'lenient');
    const [strict, lenient] = traces;
    expect(strict!.retryBudgetDenied).toBe(1);
    expect(strict!.attempts.map((a) => [a.deployment, a.next, a.fallbackReason])).toEqual([
      ['primary', 'fallback', 'retry-budget-denied'],
      ['big', 'done', undefined],
    ]);
    expect(lenient!.retryBudgetDenied).toBe(0);
    expect(lenient!.attempts.map((a) => [a.deployment, a.next])).toEqual([
      ['primary', 'retry'],
      ['primary', 'done'],
    ]);
  });
});
