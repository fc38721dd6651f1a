import { afterEach, describe, expect, it } from 'vitest';
import type { SwitchyardError } from '../../src/runtime/errors.ts';
import type { Router } from '../../src/runtime/router.ts';
import { ask, BACKUP, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive, rateLimited, serverError } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

/** One request, streamed or not, to its text or its error. */
const modes = [
  {
    name: 'non-streamed',
    run: (router: Router, signal?: AbortSignal) =>
      router.complete(ask, { signal }).then(
        (r) => r.text,
        (e: SwitchyardError) => e,
      ),
  },
  {
    name: 'streamed',
    run: (router: Router, signal?: AbortSignal) =>
      collect(router.stream(ask, { signal })).then(
        (events) => {
          const last = events.at(-1);
          return last?.type === 'error' ? last.error : streamedText(events);
        },
        (e: SwitchyardError) => e,
      ),
  },
] as const;

/** When each call to `origin` arrived, from the first call of the test. */
function arrivals(origin: string): number[] {
  const first = Math.min(...standIn.calls.map((c) => c.at));
  return standIn.callsTo(origin).map((c) => c.at - first);
}

describe.each(modes)('a caller abort while the router waits ($name)', ({ run }) => {
  it('during the backoff before a retry: the request ends as cancelled and the retry is never sent', async () => {
    const { router, traces } = makeRouter({ routes: [{ name: 'chat', deployments: ['primary'] }] });
    standIn.script(PRIMARY, serverError(), serverError());
    const controller = new AbortController();
    const result = run(router, controller.signal);
    // The first attempt fails at once; the retry waits its backoff (100 ms base, jitter 0.5).
    await clock.advance(20);
    expect(traces).toHaveLength(0);
    controller.abort();
    const error = (await drive(clock, result)) as SwitchyardError;
    expect(error.kind).toBe('cancelled');
    await clock.advance(5_000);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
  });

  it('during a Retry-After cooldown on the only deployment left: cancelled, the deployment not called again', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'] }],
      policies: { retry: { maxAttempts: 1, retryAfterCapMs: 5_000 } },
    });
    // The first request is told to come back in 2 s; the second finds the deployment cooling and waits.
    standIn.script(PRIMARY, rateLimited(2));
    expect(await drive(clock, run(router))).toMatchObject({ kind: 'rate_limited' });
    const controller = new AbortController();
    const result = run(router, controller.signal);
    await clock.advance(500);
    expect(traces).toHaveLength(1);
    controller.abort();
    const error = (await drive(clock, result)) as SwitchyardError;
    expect(error.kind).toBe('cancelled');
    await clock.advance(5_000);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
  });
});

describe.each(modes)('several deployments cooling down at once ($name)', ({ run }) => {
  const config = {
    routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
    policies: { retry: { maxAttempts: 1, retryAfterCapMs: 5_000 } },
  };

  it('the router waits for the one whose Retry-After ends first, whatever its place in the route', async () => {
    const { router } = makeRouter(config);
    standIn.script(PRIMARY, rateLimited(3));
    standIn.script(BACKUP, rateLimited(1));
    // The first request is told to wait by both; the second finds both cooling.
    expect(await drive(clock, run(router))).toMatchObject({ kind: 'rate_limited' });
    expect(await drive(clock, run(router))).toBe('hello from the stand-in');
    expect(arrivals(BACKUP)).toEqual([0, 1_000]);
    expect(arrivals(PRIMARY)).toEqual([0]);
  });

  it('and when two end together, the one first in the route', async () => {
    const { router } = makeRouter(config);
    standIn.script(PRIMARY, rateLimited(2));
    standIn.script(BACKUP, rateLimited(2));
    expect(await drive(clock, run(router))).toMatchObject({ kind: 'rate_limited' });
    expect(await drive(clock, run(router))).toBe('hello from the stand-in');
    expect(arrivals(PRIMARY)).toEqual([0, 2_000]);
    expect(arrivals(BACKUP)).toEqual([0]);
  });
});
