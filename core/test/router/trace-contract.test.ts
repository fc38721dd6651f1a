import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Router } from '../../src/runtime/router.ts';
import type { ChatRequest } from '../../src/runtime/types.ts';
import { ask, BACKUP, collect, PRIMARY, routerFixture } from './fixture.ts';
import { drive, type Step, serverError } from './stand-in.ts';

/**
 * The evidence the decision trace carries for an outside check of a verdict (issue 10's trace
 * contract): why each deployment was left, the deadline that fired, the text each stream attempt
 * delivered, and the budget operations — on streamed and non-streamed requests alike.
 */

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

const sha16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

const modes = [
  {
    name: 'non-streamed',
    stream: false,
    run: (r: Router, req: ChatRequest = ask): Promise<unknown> => r.complete(req).catch(() => undefined),
  },
  {
    name: 'streamed',
    stream: true,
    run: (r: Router, req: ChatRequest = ask): Promise<unknown> => collect(r.stream(req)),
  },
] as const;

const unauthorized: Step = {
  kind: 'error',
  status: 401,
  body: {
    error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
  },
};

describe.each(modes)('fallback reasons ($name)', ({ run }) => {
  it('attempts-exhausted, then not-retryable', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup', 'big'] }],
      policies: { retry: { maxAttempts: 2, baseDelayMs: 10 } },
    });
    standIn.script(PRIMARY, serverError(), serverError());
    standIn.script(BACKUP, unauthorized);
    await drive(clock, run(router));
    expect(traces[0]!.attempts.map((a) => [a.deployment, a.next, a.fallbackReason])).toEqual([
      ['primary', 'retry', undefined],
      ['primary', 'fallback', 'attempts-exhausted'],
      ['backup', 'fallback', 'not-retryable'],
      ['big', 'done', undefined],
    ]);
  });

  it('backoff-past-deadline: a backoff that would outlast the request falls back at once', async () => {
    const { router, traces } = makeRouter({
      policies: {
        retry: { maxAttempts: 3, baseDelayMs: 8_000, maxDelayMs: 8_000, jitter: 'none' },
        timeouts: { totalMs: 5_000 },
      },
    });
    standIn.script(PRIMARY, serverError());
    const started = clock.now();
    await drive(clock, run(router));
    expect(traces[0]!.attempts[0]).toMatchObject({
      next: 'fallback',
      fallbackReason: 'backoff-past-deadline',
    });
    expect(traces[0]!.outcome).toBe('success');
    expect(clock.now() - started).toBe(0);
  });

  it('give-up on the last deployment keeps its reason', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, serverError());
    standIn.script(BACKUP, serverError());
    await drive(clock, run(router));
    expect(traces[0]!.attempts.map((a) => [a.next, a.fallbackReason])).toEqual([
      ['fallback', 'attempts-exhausted'],
      ['give-up', 'attempts-exhausted'],
    ]);
  });
});

describe.each(modes)('the deadline that fired ($name)', ({ run, stream }) => {
  it('is on the attempt, with the phase', async () => {
    const { router, traces } = makeRouter({
      policies: { retry: { maxAttempts: 1 }, timeouts: { headersMs: 1_000, firstTokenMs: 2_000 } },
    });
    standIn.script(PRIMARY, stream ? { kind: 'stream', chunks: [], stall: true } : { kind: 'black-hole' });
    await drive(clock, run(router));
    expect(traces[0]!.attempts[0]).toMatchObject({
      errorKind: 'timeout',
      timeoutPhase: stream ? 'first_token' : 'headers',
    });
  });
});

describe('delivered text', () => {
  it('streams: each attempt and the request say what reached the caller (length and hash)', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, serverError());
    standIn.script(BACKUP, { kind: 'ok', text: 'Hi there, friend' });
    await drive(clock, collect(router.stream(ask)));
    const [failed, served] = traces[0]!.attempts;
    expect(failed).toMatchObject({ deliveredChars: 0, deliveredHash: sha16('') });
    expect(served).toMatchObject({ deliveredChars: 16, deliveredHash: sha16('Hi there, friend') });
    expect(traces[0]).toMatchObject({ deliveredChars: 16, deliveredHash: sha16('Hi there, friend') });
  });

  it('streams cut part-way: what was delivered before the cut', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Hel', 'lo'], cut: true });
    await drive(clock, collect(router.stream(ask)));
    expect(traces[0]!.attempts[0]).toMatchObject({ deliveredChars: 5, deliveredHash: sha16('Hello') });
    expect(traces[0]).toMatchObject({
      deliveredChars: 5,
      deliveredHash: sha16('Hello'),
      partialTextChars: 5,
    });
  });

  it('a stream that never got a first token delivered nothing', async () => {
    const { router, traces } = makeRouter({ routes: [{ name: 'chat', deployments: ['primary'] }] });
    standIn.script(PRIMARY, serverError(), serverError(), serverError());
    await drive(clock, collect(router.stream(ask)));
    expect(traces[0]).toMatchObject({ outcome: 'error', deliveredChars: 0, deliveredHash: sha16('') });
  });

  it('non-streamed answers carry no delivery fields (they arrive whole)', async () => {
    const { router, traces } = makeRouter();
    await drive(clock, router.complete(ask));
    expect(traces[0]!.deliveredHash).toBeUndefined();
    expect(traces[0]!.attempts[0]!.deliveredHash).toBeUndefined();
  });
});

describe.each(modes)('budget events ($name)', ({ run }) => {
  it('reserve and settle per attempt, settle at its cost; a refusal too; none without budgets', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
      policies: { retry: { maxAttempts: 1 } },
      budgets: [{ tenant: 'acme', period: 'day', limitUsd: 1 }],
    });
    standIn.script(PRIMARY, serverError());
    await drive(clock, run(router, { ...ask, tenant: 'acme' }));
    const [failed, served] = traces[0]!.attempts;
    const events = traces[0]!.budgetEvents!;
    expect(events.map((e) => [e.op, e.attempt, e.tenant])).toEqual([
      ['reserve', 1, 'acme'],
      ['settle', 1, 'acme'],
      ['reserve', 2, 'acme'],
      ['settle', 2, 'acme'],
    ]);
    expect(events[1]!.amountUsd).toBe(failed!.costUsd);
    expect(events[3]!.amountUsd).toBe(served!.costUsd);
    expect(events[3]!.amountUsd).toBeGreaterThan(0);
    expect(events[0]!.amountUsd).toBeGreaterThanOrEqual(events[3]!.amountUsd);

    // A tenant no budget applies to has no events; a request over its budget has a refusal.
    await drive(clock, run(router));
    expect(traces[1]!.budgetEvents).toBeUndefined();
    await drive(clock, run(router, { ...ask, tenant: 'acme', maxOutputTokens: 1_000_000 }));
    expect(traces[2]!.budgetEvents!.map((e) => e.op)).toEqual(['refuse', 'refuse']);
    expect(traces[2]!.candidates.map((c) => c.skipped)).toEqual(['budget', 'budget']);
  });
});
