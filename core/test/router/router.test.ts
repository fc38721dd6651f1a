import { afterEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { ask, BACKUP, BIG, collect, deployment, KEY, PRIMARY, routerFixture } from './fixture.ts';
import {
  badRequest,
  contextOverflow,
  drive,
  rateLimited,
  serverError,
  unsupportedMaxTokens,
} from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();

afterEach(() => standIn.reset());

describe('retries', () => {
  it('retries a 429 after exactly its Retry-After delay, on the injected clock', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, rateLimited(2));
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('primary');
    const [first, second] = standIn.callsTo(PRIMARY);
    expect(second!.at - first!.at).toBe(2_000);
    const attempts = traces[0]!.attempts;
    expect(attempts.map((a) => [a.errorKind ?? 'ok', a.delayBeforeNextMs, a.delayReason])).toEqual([
      ['rate_limited', 2_000, 'retry-after'],
      ['ok', undefined, undefined],
    ]);
  });

  it('falls back instead of sleeping when Retry-After is beyond the cap', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, rateLimited(60));
    const started = clock.now();
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    expect(standIn.callsTo(PRIMARY)).toHaveLength(1);
    expect(standIn.callsTo(BACKUP)[0]!.at - started).toBe(0);
    expect(traces[0]!.attempts[0]!.next).toBe('fallback');
  });

  it('never retries a non-retryable error, and does not fall back from a bad request', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, badRequest());
    const error = await drive(clock, router.complete(ask)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).kind).toBe('bad_request');
    expect(standIn.calls).toHaveLength(1);
    expect(traces[0]!.attempts[0]!.next).toBe('give-up');
    expect(traces[0]!.outcome).toBe('error');
  });

  it('uses jittered exponential backoff between server errors, within the configured bounds', async () => {
    const { router, traces } = makeRouter({}, () => 0.999);
    standIn.script(PRIMARY, serverError(), serverError());
    await drive(clock, router.complete(ask));
    const [a, b, c] = standIn.callsTo(PRIMARY);
    // full jitter with random≈1: just under base·2^(n-1)
    expect(b!.at - a!.at).toBe(99);
    expect(c!.at - b!.at).toBe(199);
    expect(traces[0]!.attempts.map((x) => x.delayReason)).toEqual(['backoff', 'backoff', undefined]);
  });

  it('makes exactly one HTTP call per router attempt (the SDKs do not retry on their own)', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, serverError(), rateLimited(1), serverError());
    await drive(clock, router.complete(ask));
    expect(standIn.calls.length).toBe(traces[0]!.attempts.length);
    expect(traces[0]!.attempts.map((a) => a.deployment)).toEqual(['primary', 'primary', 'primary', 'backup']);
  });

  it('rewrites a rejected parameter, retries at once, and remembers it for the deployment', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, unsupportedMaxTokens());
    await drive(clock, router.complete(ask));
    const [rejected, rewritten] = standIn.callsTo(PRIMARY);
    expect(rejected!.body.max_tokens).toBe(50);
    expect(rewritten!.body.max_tokens).toBeUndefined();
    expect(rewritten!.body.max_completion_tokens).toBe(50);
    expect(rewritten!.at).toBe(rejected!.at);
    expect(traces[0]!.attempts[0]!.next).toBe('rewrite-and-retry');
    await drive(clock, router.complete(ask));
    expect(standIn.callsTo(PRIMARY)[2]!.body.max_completion_tokens).toBe(50);
  });

  it('stops retrying when the retry budget is spent, and falls back', async () => {
    const { router, traces } = makeRouter({
      policies: {
        retry: {
          maxAttempts: 3,
          baseDelayMs: 10,
          budget: { ratio: 0, minRetriesPerSecond: 0, windowMs: 10_000 },
        },
      },
    });
    standIn.script(PRIMARY, serverError());
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    expect(traces[0]!.retryBudgetDenied).toBe(1);
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, lets exactly one probe through after openMs, and closes on its success', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
      policies: {
        retry: { maxAttempts: 1 },
        breaker: { consecutiveFailures: 3, openMs: 10_000 },
      },
    });
    const transitions: string[] = [];
    router.breakers.onTransition((t) => transitions.push(`${t.deployment}:${t.from}->${t.to}`));
    standIn.script(PRIMARY, serverError(), serverError(), serverError());
    for (let i = 0; i < 3; i++) await drive(clock, router.complete(ask));
    expect(await router.breakers.state('primary')).toBe('open');

    // While open, requests skip the primary without calling it.
    await drive(clock, router.complete(ask));
    expect(standIn.callsTo(PRIMARY)).toHaveLength(3);
    expect(traces[3]!.candidates[0]).toMatchObject({ deployment: 'primary', skipped: 'breaker-open' });

    await clock.advance(10_000);
    // Two concurrent requests: exactly one may probe the half-open primary.
    const both = Promise.all([router.complete(ask), router.complete(ask)]);
    const responses = await drive(clock, both);
    expect(responses.map((r) => r.deployment).sort()).toEqual(['backup', 'primary']);
    expect(standIn.callsTo(PRIMARY)).toHaveLength(4);
    expect(await router.breakers.state('primary')).toBe('closed');
    expect(transitions).toEqual([
      'primary:closed->open',
      'primary:open->half-open',
      'primary:half-open->closed',
    ]);
    expect(traces.flatMap((t) => t.attempts).filter((a) => a.probe)).toHaveLength(1);
  });
});

describe('deadlines', () => {
  it('cuts a body that stalls after its headers (the SDK timeout would not)', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'] }],
      policies: { retry: { maxAttempts: 1 }, timeouts: { attemptMs: 5_000 } },
    });
    standIn.script(PRIMARY, { kind: 'stall-body' });
    const started = clock.now();
    const error = (await drive(clock, router.complete(ask)).catch((e: unknown) => e)) as SwitchyardError;
    expect(error.kind).toBe('timeout');
    expect(error.timeoutPhase).toBe('total');
    expect(clock.now() - started).toBe(5_000);
    expect(traces[0]!.attempts[0]!.errorKind).toBe('timeout');
  });

  // Issue 10, defect 4: the body of a non-streamed answer has an idle deadline of its own.
  it('cuts a non-streamed body idle for bodyIdleMs, but not one that keeps trickling', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'] }],
      policies: { retry: { maxAttempts: 1 }, timeouts: { bodyIdleMs: 1_000, attemptMs: 60_000 } },
    });
    const text = 'slowly — but surely ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓ ✓';
    standIn.script(PRIMARY, { kind: 'trickle-ok', text, pieces: 6, everyMs: 600 });
    const started = clock.now();
    expect((await drive(clock, router.complete(ask))).text).toBe(text);
    expect(clock.now() - started).toBe(3_000);
    standIn.script(PRIMARY, { kind: 'stall-body' });
    const error = (await drive(clock, router.complete(ask)).catch((e: unknown) => e)) as SwitchyardError;
    expect(error).toMatchObject({ kind: 'timeout', timeoutPhase: 'body_idle' });
    expect(traces[1]!.attempts[0]!.error).toMatchObject({ timeoutPhase: 'body_idle' });
    expect(traces[1]!.attempts[0]!.endedAt - traces[1]!.attempts[0]!.startedAt).toBe(1_000);
  });

  it('cuts a stream that stalls after its first token, and surfaces what was streamed', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
      policies: { retry: { maxAttempts: 1 }, timeouts: { idleMs: 3_000 } },
    });
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hel', 'lo'], stall: true });
    const events = await drive(clock, collect(router.stream(ask)));
    const last = events.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type !== 'error') throw new Error('unreachable');
    expect(last.error.kind).toBe('timeout');
    expect(last.error.timeoutPhase).toBe('idle');
    expect(last.partialText).toBe('Hello');
    // Committed after the first token: no silent restart on the backup (no duplicated text).
    expect(standIn.callsTo(BACKUP)).toHaveLength(0);
  });

  it('fails over freely before the first token of a stream', async () => {
    const { router, traces } = makeRouter({
      policies: { retry: { maxAttempts: 1 }, timeouts: { firstTokenMs: 2_000 } },
    });
    standIn.script(PRIMARY, { kind: 'stream', chunks: [], stall: true });
    standIn.script(BACKUP, { kind: 'stream', chunks: ['Hi', ' there'] });
    const events = await drive(clock, collect(router.stream(ask)));
    const text = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
    expect(text).toBe('Hi there');
    expect(events.at(-1)!.type).toBe('done');
    expect(traces[0]!.attempts.map((a) => [a.deployment, a.errorKind])).toEqual([
      ['primary', 'timeout'],
      ['backup', undefined],
    ]);
    expect(traces[0]!.attempts[0]!.error?.timeoutPhase).toBe('first_token');
  });
});

describe('hedging', () => {
  it('sends a backup after the hedge delay; the first answer wins, the loser is aborted and costed as waste', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary', 'backup'] }],
      policies: { hedge: { enabled: true, delay: 500 } },
    });
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 5_000, text: 'slow' });
    standIn.script(BACKUP, { kind: 'delay-ok', ms: 100, text: 'fast' });
    const started = clock.now();
    const response = await drive(clock, router.complete(ask));
    expect(response.text).toBe('fast');
    expect(response.deployment).toBe('backup');
    expect(clock.now() - started).toBe(600);
    const trace = traces[0]!;
    expect(trace.hedges).toEqual([{ at: started + 500, deployment: 'backup', won: true }]);
    const loser = trace.attempts.find((a) => a.deployment === 'primary')!;
    expect(loser.outcome).toBe('aborted');
    expect(loser.costUsd).toBeGreaterThan(0);
    expect(trace.wastedUsd).toBeCloseTo(loser.costUsd, 12);
    // The loser's request was really aborted: its simulated 5 s answer never arrives.
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('hedging under cancellation', () => {
  const hedged = () =>
    makeRouter({
      routes: [{ name: 'chat', deployments: ['primary', 'backup'] }],
      policies: { retry: { maxAttempts: 1 }, hedge: { enabled: true, delay: 500 } },
    });

  it('settles a caller abort while waiting to hedge, and leaves no timer behind', async () => {
    const { router } = hedged();
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 5_000 });
    const controller = new AbortController();
    const call = router.complete(ask, { signal: controller.signal });
    await clock.advance(100);
    controller.abort();
    const error = (await drive(clock, call).catch((e: unknown) => e)) as SwitchyardError;
    expect(error.kind).toBe('cancelled');
    expect(standIn.callsTo(BACKUP)).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not keep the hedge timer when the primary fails before the hedge is due', async () => {
    const { router } = hedged();
    standIn.script(PRIMARY, badRequest());
    await drive(clock, router.complete(ask)).catch(() => undefined);
    expect(standIn.callsTo(BACKUP)).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('fallback chains', () => {
  it('sends a context overflow to the larger-context model', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'], onContextOverflow: ['big'] }],
    });
    standIn.script(PRIMARY, contextOverflow());
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('big');
    expect(standIn.callsTo(BACKUP)).toHaveLength(0);
    expect(traces[0]!.candidates.map((c) => [c.deployment, c.source])).toEqual([
      ['primary', 'route'],
      ['big', 'context-overflow'],
    ]);
  });

  it('skips, before calling, a deployment whose context window is too small', async () => {
    const { router, traces } = makeRouter({
      deployments: [
        deployment('primary', PRIMARY, { contextWindow: 20 }),
        deployment('backup', BACKUP),
        deployment('big', BIG),
      ],
    });
    const response = await drive(
      clock,
      router.complete({ ...ask, messages: [{ role: 'user', content: 'x '.repeat(100) }] }),
    );
    expect(response.deployment).toBe('backup');
    expect(standIn.callsTo(PRIMARY)).toHaveLength(0);
    expect(traces[0]!.candidates[0]!.skipped).toBe('context-window');
  });

  it('treats an empty answer as a failure and falls back, counting its cost as waste', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, { kind: 'ok', text: '' });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    const [empty] = traces[0]!.attempts;
    expect(empty).toMatchObject({ deployment: 'primary', errorKind: 'malformed_response', next: 'fallback' });
    expect(traces[0]!.wastedUsd).toBeCloseTo(empty!.costUsd, 12);
    expect(empty!.costUsd).toBeGreaterThan(0);
  });

  it('retries an answer that is not JSON although JSON mode was asked for', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, { kind: 'ok', text: 'Sure! {"a": 1}' }, { kind: 'ok', text: '{"a": 1}' });
    const response = await drive(clock, router.complete({ ...ask, responseFormat: 'json' }));
    expect(JSON.parse(response.text)).toEqual({ a: 1 });
    expect(traces[0]!.attempts.map((a) => a.errorKind ?? 'ok')).toEqual(['malformed_response', 'ok']);
  });

  it('moves a filtered answer to another provider when the route says so', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], onContentFiltered: ['backup'] }],
    });
    standIn.script(PRIMARY, { kind: 'ok', text: '', finish: 'content_filter' });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    expect(response.finishReason).toBe('stop');
  });
});

describe('budgets', () => {
  it('never overshoots under 200 concurrent requests', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'] }],
      prices: { 'gpt-4.1': { input: 2, output: 8 } },
      budgets: [{ tenant: 'acme', period: 'day', limitUsd: 0.01 }],
    });
    const requests = Array.from({ length: 200 }, () =>
      router.complete({ ...ask, tenant: 'acme' }).then(
        (r) => r.costUsd,
        (e: SwitchyardError) => e.kind,
      ),
    );
    const outcomes = await drive(clock, Promise.all(requests));
    const spent = outcomes.filter((o): o is number => typeof o === 'number').reduce((a, b) => a + b, 0);
    const refused = outcomes.filter((o) => o === 'budget_exceeded').length;
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(200);
    expect(spent).toBeLessThanOrEqual(0.01);
    const [snapshot] = await router.budgets.snapshot('acme');
    expect(snapshot!.spentUsd).toBeLessThanOrEqual(0.01);
    expect(snapshot!.reservedUsd).toBe(0);
    // Only admitted requests reached the provider.
    expect(standIn.calls.length).toBe(200 - refused);
  });
});

describe('cache', () => {
  it('answers repeats from the cache and coalesces identical in-flight requests', async () => {
    const { router, traces } = makeRouter({ cache: { enabled: true, ttlMs: 60_000 } });
    const [a, b] = await drive(clock, Promise.all([router.complete(ask), router.complete(ask)]));
    expect(standIn.calls).toHaveLength(1);
    expect([a!.cached, b!.cached].sort()).toEqual([false, true]);
    const c = await drive(clock, router.complete(ask));
    expect(c.cached).toBe(true);
    expect(standIn.calls).toHaveLength(1);
    expect(traces.map((t) => t.cache).sort()).toEqual(['coalesced', 'hit', 'miss']);
    await clock.advance(60_001);
    await drive(clock, router.complete(ask));
    expect(standIn.calls).toHaveLength(2);
  });
});

describe('routing strategies', () => {
  it('round-robin alternates the primary', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', strategy: 'round-robin', deployments: ['primary', 'backup'] }],
    });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push((await drive(clock, router.complete(ask))).deployment);
    expect(served).toEqual(['primary', 'backup', 'primary', 'backup']);
  });

  it('lowest-cost picks the cheapest deployment', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', strategy: 'lowest-cost', deployments: ['primary', 'backup'] }],
      deployments: [
        deployment('primary', PRIMARY, { price: { input: 5, output: 15 } }),
        deployment('backup', BACKUP, { price: { input: 0.1, output: 0.4 } }),
        deployment('big', BIG),
      ],
    });
    expect((await drive(clock, router.complete(ask))).deployment).toBe('backup');
  });

  it('weighted routing follows the weights', async () => {
    let n = 0;
    const { router } = makeRouter(
      {
        routes: [{ name: 'chat', strategy: 'weighted', deployments: ['primary', 'backup'] }],
        deployments: [
          deployment('primary', PRIMARY, { weight: 3 }),
          deployment('backup', BACKUP, { weight: 1 }),
          deployment('big', BIG),
        ],
      },
      () => (n++ * 0.618) % 1,
    );
    const served: string[] = [];
    for (let i = 0; i < 40; i++) served.push((await drive(clock, router.complete(ask))).deployment);
    const primaryShare = served.filter((d) => d === 'primary').length / served.length;
    expect(primaryShare).toBeGreaterThan(0.6);
    expect(primaryShare).toBeLessThan(0.9);
  });

  it('least-latency samples every deployment, then prefers the fastest', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', strategy: 'least-latency', deployments: ['primary', 'backup'] }],
    });
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 800 });
    standIn.script(BACKUP, { kind: 'delay-ok', ms: 100 });
    const first = await drive(clock, router.complete(ask));
    const second = await drive(clock, router.complete(ask));
    expect([first.deployment, second.deployment].sort()).toEqual(['backup', 'primary']);
    for (let i = 0; i < 3; i++) expect((await drive(clock, router.complete(ask))).deployment).toBe('backup');
  });

  it('routes by task rules from the config', async () => {
    const { router } = makeRouter({
      routes: [
        { name: 'chat', deployments: ['primary'] },
        { name: 'summaries', match: { task: 'summarize' }, deployments: ['big'] },
      ],
    });
    const response = await drive(clock, router.complete({ messages: ask.messages, task: 'summarize' }));
    expect(response.deployment).toBe('big');
  });
});

describe('decision trace', () => {
  it('records candidates, attempts, waits and outcome, and holds no key material', async () => {
    const { router, traces } = makeRouter();
    standIn.script(PRIMARY, rateLimited(1), serverError(), serverError());
    await drive(clock, router.complete(ask));
    const trace = traces[0]!;
    expect(trace.outcome).toBe('success');
    expect(trace.finalDeployment).toBe('backup');
    expect(trace.attempts.map((a) => a.next)).toEqual(['retry', 'retry', 'fallback', 'done']);
    expect(trace.attempts.every((a) => a.endedAt >= a.startedAt)).toBe(true);
    expect(JSON.stringify(trace)).not.toContain(KEY);
    // The key did travel to the provider, so the check above is meaningful.
    expect(standIn.calls[0]!.headers.get('authorization')).toBe(`Bearer ${KEY}`);
  });
});
