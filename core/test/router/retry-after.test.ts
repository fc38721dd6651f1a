import { afterEach, describe, expect, it } from 'vitest';
import { ask, BACKUP, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive, rateLimited, type Step } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

/** A 429 whose Retry-After is an HTTP date `seconds` after the router's clock. */
function rateLimitedUntilDate(seconds: number): Step {
  const step = rateLimited(0);
  if (step.kind !== 'error') throw new Error('unreachable');
  return { ...step, headers: { 'retry-after': new Date(clock.now() + seconds * 1000).toUTCString() } };
}

const modes = [
  {
    name: 'non-streamed',
    run: async (router: ReturnType<typeof makeRouter>['router']) =>
      (await drive(clock, router.complete(ask))).text,
  },
  {
    name: 'streamed',
    run: async (router: ReturnType<typeof makeRouter>['router']) =>
      streamedText(await drive(clock, collect(router.stream(ask)))),
  },
] as const;

// Issue 10, defect 6: an HTTP-date Retry-After was measured against Date.now(), so on a virtual clock
// a date 30 s ahead read as 0 ms (or as months), whatever the router's own time said.
describe.each(modes)('Retry-After as an HTTP date ($name)', ({ run }) => {
  it('is measured on the router clock: 3 s ahead is a 3 s wait', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, rateLimitedUntilDate(3));
    standIn.script(PRIMARY, { kind: 'ok', text: 'late' });
    const started = clock.now();
    await run(router);
    const [first, second] = standIn.callsTo(PRIMARY);
    expect(first!.at).toBe(started);
    expect(second!.at - first!.at).toBe(3_000);
    expect(traces[0]!.attempts[0]).toMatchObject({ retryAfterMs: 3_000, delayReason: 'retry-after' });
  });

  it('30 s ahead is over the 5 s cap: the request falls back at once', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, rateLimitedUntilDate(30));
    standIn.script(BACKUP, { kind: 'ok', text: 'from backup' });
    await run(router);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
    expect(traces[0]!.attempts[0]).toMatchObject({
      retryAfterMs: 30_000,
      next: 'fallback',
      fallbackReason: 'retry-after-over-cap',
    });
  });
});

// Issue 10, defect 3 (first half): the router slept on a Retry-After that would end after the
// request's total deadline; the request died with a timeout and its fallback was never tried.
describe.each(modes)('a Retry-After past the total deadline ($name)', ({ run }) => {
  it('falls back at once, saying why', async () => {
    const { router, traces } = makeRouter({
      policies: { retry: { maxAttempts: 3, retryAfterCapMs: 60_000 }, timeouts: { totalMs: 10_000 } },
    });
    standIn.script(PRIMARY, rateLimited(20));
    standIn.script(BACKUP, { kind: 'ok', text: 'rescued' });
    const started = clock.now();
    expect(await run(router)).toBe('rescued');
    expect(standIn.callsTo(BACKUP)[0]!.at).toBe(started);
    expect(traces[0]!.attempts[0]).toMatchObject({
      retryAfterMs: 20_000,
      next: 'fallback',
      fallbackReason: 'retry-after-past-deadline',
    });
    expect(traces[0]!.outcome).toBe('success');
  });
});

// Issue 10, defect 3 (second half): a 429 saying "retry after 120 s" put no cooldown on the
// deployment; every other request (and breaker probe) kept calling it.
describe.each(modes)('Retry-After as a per-deployment cooldown ($name)', ({ run }) => {
  it('keeps every request away from the deployment until then, and says so in the trace', async () => {
    const { router, traces } = makeRouter();
    const started = clock.now();
    standIn.script(PRIMARY, rateLimited(120));
    expect(await run(router)).toBe('hello from the stand-in');
    expect(traces[0]!.attempts.map((a) => a.deployment)).toEqual(['primary', 'backup']);

    await clock.advance(30_000);
    await run(router);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
    expect(traces[1]!.candidates[0]).toMatchObject({
      deployment: 'primary',
      skipped: 'cooldown',
      until: started + 120_000,
    });
    expect(traces[1]!.candidates[0]!.detail).toMatch(/cooling down for 90000 ms more/);

    await clock.advance(90_000);
    await run(router);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(2);
    expect(traces[2]!.finalDeployment).toBe('primary');
  });

  it('is what a lone deployment answers with while it cools down: rate_limited, with the wait', async () => {
    const { router, traces } = makeRouter({ routes: [{ name: 'chat', deployments: ['primary'] }] });
    standIn.script(PRIMARY, rateLimited(60));
    await run(router).catch(() => undefined);
    const error = await run(router).then(
      () => undefined,
      (e: unknown) => e as { kind: string; retryAfterMs: number },
    );
    // Streams report errors as an event; either way no second call reached the provider.
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
    expect(traces[1]!.error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000 });
    if (error) expect(error.kind).toBe('rate_limited');
  });
});

describe.each(modes)('a short cooldown on the only deployment left ($name)', ({ run }) => {
  it('is waited out (under the Retry-After cap), then the deployment is called: never earlier', async () => {
    const { router, traces } = makeRouter({ routes: [{ name: 'chat', deployments: ['primary'] }] });
    standIn.script(PRIMARY, rateLimited(2));
    const first = run(router);
    // A second request arrives while the first sleeps on its Retry-After.
    await clock.advance(500);
    const second = run(router);
    await drive(clock, Promise.all([first, second]));
    const calls = standIn.callsTo(PRIMARY).map((c) => c.at - calls0(traces));
    expect(calls).toEqual([0, 2_000, 2_000]);
    expect(traces.map((t) => t.outcome)).toEqual(['success', 'success']);
    const waited = traces.find((t) => t.candidates.length === 2)!;
    expect(waited.candidates.map((c) => c.skipped ?? c.detail)).toEqual([
      'cooldown',
      'tried again once its cooldown ran out',
    ]);
  });
});

/** When the first request of a test started (its trace's start). */
function calls0(traces: readonly { startedAt: number }[]): number {
  return Math.min(...traces.map((t) => t.startedAt));
}

const quotaGone: Step = {
  kind: 'error',
  status: 429,
  body: {
    error: {
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    },
  },
};

// Issue 10, defect 12: insufficient_quota did not take the deployment out of rotation; every request
// wasted a call on it.
describe.each(modes)('an exhausted quota ($name)', ({ run }) => {
  it('takes the deployment out of rotation for quotaExhaustedMs (10 minutes by default)', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, quotaGone);
    await run(router);
    for (let i = 0; i < 5; i++) {
      await clock.advance(10_000);
      await run(router);
    }
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
    expect(standIn.callsTo(BACKUP)).toHaveLength(6);
    expect(traces[3]!.candidates[0]).toMatchObject({ skipped: 'cooldown' });
    expect(traces[3]!.candidates[0]!.detail).toMatch(/quota is exhausted/);

    await clock.advance(550_000);
    await run(router);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(2);
  });
});
