import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderAdapter } from '../../src/runtime/providers/adapter.ts';
import type { AttemptRecord } from '../../src/runtime/trace/trace.ts';
import { ask, BACKUP, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

// Issue 10, defect 13: `content: 42` in a 200 became kind 'network' (a TypeError in the router's own
// answer check), so it was neither retried as a bad answer nor reported as one.
describe('an answer whose content is not a string', () => {
  it('is a malformed_response of the deployment (non-streamed), and the route falls back', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, { kind: 'raw-ok', content: 42 });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    expect(traces[0]!.attempts[0]).toMatchObject({
      deployment: 'primary',
      errorKind: 'malformed_response',
      status: 200,
      next: 'fallback',
    });
  });

  it('is a malformed_response of the deployment (streamed), before the first token', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } });
    standIn.script(PRIMARY, { kind: 'stream', chunks: [42 as unknown as string, 'more'] });
    standIn.script(BACKUP, { kind: 'stream', chunks: ['Hi', ' there'] });
    const events = await drive(clock, collect(router.stream(ask)));
    expect(streamedText(events)).toBe('Hi there');
    expect(traces[0]!.attempts.map((a) => [a.deployment, a.errorKind])).toEqual([
      ['primary', 'malformed_response'],
      ['backup', undefined],
    ]);
  });
});

describe('a custom adapter whose answer text is not a string', () => {
  it('is a malformed_response too (the router checks what any adapter returns)', async () => {
    const numberText: ProviderAdapter = {
      provider: 'openai-compatible',
      model: 'gpt-4.1',
      complete: async () => ({
        id: 'x',
        text: 42 as unknown as string,
        toolCalls: [],
        finishReason: 'length',
        usage: { inputTokens: 5, outputTokens: 1, cachedInputTokens: 0 },
        model: 'gpt-4.1',
      }),
      stream: () => {
        throw new Error('not used');
      },
    };
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } }, undefined, {
      adapters: { primary: numberText },
    });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    expect(traces[0]!.attempts[0]!.errorKind).toBe('malformed_response');
  });
});

// The router starts a non-streamed call without awaiting it (no suspended frame while it is in
// flight), so an adapter that throws before returning its promise must still fail only its attempt.
describe('a custom adapter that throws at once instead of returning a promise', () => {
  const throwing: ProviderAdapter = {
    provider: 'openai-compatible',
    model: 'gpt-4.1',
    complete: () => {
      throw new Error('adapter exploded');
    },
    stream: () => {
      throw new Error('adapter exploded');
    },
  };
  const failedOver = (attempt: AttemptRecord) => {
    expect(attempt).toMatchObject({ deployment: 'primary', errorKind: 'network', next: 'fallback' });
    expect(String(attempt.error?.message)).toContain('adapter exploded');
  };

  it('fails that attempt and the route falls back (non-streamed)', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } }, undefined, {
      adapters: { primary: throwing },
    });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('backup');
    failedOver(traces[0]!.attempts[0]!);
  });

  it('fails that attempt and the route falls back (streamed)', async () => {
    const { router, traces } = makeRouter({ policies: { retry: { maxAttempts: 1 } } }, undefined, {
      adapters: { primary: throwing },
    });
    standIn.script(BACKUP, { kind: 'stream', chunks: ['Hi', ' there'] });
    const events = await drive(clock, collect(router.stream(ask)));
    expect(streamedText(events)).toBe('Hi there');
    failedOver(traces[0]!.attempts[0]!);
  });
});
