import { afterEach, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import type { Router } from '../../src/runtime/router.ts';
import type { StreamEvent } from '../../src/runtime/types.ts';
import { ask, BACKUP, PRIMARY, routerFixture } from './fixture.ts';
import { drive, serverError } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

/** The primary's breaker opened by two server errors; after openMs the next attempt is its probe. */
const probing: Partial<RouterConfigInput> = {
  routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
  policies: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, openMs: 10_000 } },
};

async function halfOpen(router: Router) {
  standIn.script(PRIMARY, serverError(), serverError());
  await drive(clock, router.complete(ask));
  await drive(clock, router.complete(ask));
  expect(await router.breakers.state('primary')).toBe('open');
  await clock.advance(10_000);
}

/** Reads a stream until `stopAt` says so, then leaves the loop (the caller's `break`). */
async function readUntil(router: Router, stopAt: (event: StreamEvent) => boolean, signal?: AbortSignal) {
  for await (const event of router.stream(ask, signal ? { signal } : {})) if (stopAt(event)) break;
}

// Issue 10, defect 7: a caller that stopped reading a stream which was the half-open probe held the
// probe slot for the whole attempt timeout (120 s by default): the breaker stayed shut. Every
// abandoned, aborted or cancelled attempt must release what it holds at once.
describe('an abandoned probe', () => {
  it.each([
    ['after the first token', (e: StreamEvent) => e.type === 'text-delta'],
    ['at the attempt event, before any text', (e: StreamEvent) => e.type === 'attempt'],
  ])('streamed, left %s: the next request may probe at once', async (_, stopAt) => {
    const { router, traces } = makeRouter(probing);
    await halfOpen(router);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hel', 'lo'], stall: true });
    await drive(clock, readUntil(router, stopAt));
    expect(traces[2]!.attempts[0]).toMatchObject({ probe: true, outcome: 'aborted', errorKind: 'cancelled' });
    // No time passes: the slot is free now, not after a lease.
    const next = await drive(clock, router.complete(ask));
    expect(next.deployment).toBe('primary');
    expect(traces[3]!.attempts[0]!.probe).toBe(true);
    expect(await router.breakers.state('primary')).toBe('closed');
    expect(clock.pendingTimers).toBe(0);
  });

  it('streamed, aborted by the caller: the next request may probe at once', async () => {
    const { router, traces } = makeRouter(probing);
    await halfOpen(router);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hel', 'lo'], stall: true });
    const controller = new AbortController();
    await drive(
      clock,
      readUntil(
        router,
        (e) => {
          if (e.type === 'text-delta') controller.abort();
          return e.type === 'error';
        },
        controller.signal,
      ),
    );
    expect(traces[2]!.attempts[0]).toMatchObject({ probe: true, outcome: 'aborted' });
    expect((await drive(clock, router.complete(ask))).deployment).toBe('primary');
  });

  it('non-streamed, aborted by the caller: the next request may probe at once', async () => {
    const { router, traces } = makeRouter(probing);
    await halfOpen(router);
    standIn.script(PRIMARY, { kind: 'stall-body' });
    const controller = new AbortController();
    const call = router.complete(ask, { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(100);
    controller.abort();
    await drive(clock, call);
    expect(traces[2]!.attempts[0]).toMatchObject({ probe: true, outcome: 'aborted' });
    expect((await drive(clock, router.complete(ask))).deployment).toBe('primary');
    expect(standIn.callsTo(BACKUP)).toHaveLength(2);
  });
});
