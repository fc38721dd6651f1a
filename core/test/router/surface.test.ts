import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { ProviderAdapter } from '../../src/runtime/providers/adapter.ts';
import { Router } from '../../src/runtime/router.ts';
import { ask, BACKUP, collect, deployment, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

describe('building a router', () => {
  it('refuses a deployment whose key variable is unset, naming the variable (no fallback to a default key)', () => {
    const build = () =>
      new Router({
        config: {
          deployments: [deployment('primary', PRIMARY)],
          routes: [{ name: 'chat', deployments: ['primary'] }],
        },
        clock: new VirtualClock(),
        env: {},
      });
    expect(build).toThrow(/PRIMARY_KEY/);
    // A config built in code has no file position to show.
    expect(build).toThrow(
      /\n {2}<router config> deployments\[0\]\.apiKey\.env: environment variable PRIMARY_KEY is not set/,
    );
    expect(build).not.toThrow(/undefined/);
  });

  it('looks deployments up by id', () => {
    const { router } = makeRouter();
    expect(router.deployment('backup')).toMatchObject({ id: 'backup', baseURL: `http://${BACKUP}/v1` });
    expect(router.deployment('nowhere')).toBeUndefined();
  });
});

describe('a request the router cannot even start (no messages)', () => {
  const broken = { model: 'chat', messages: undefined } as unknown as typeof ask;

  it('is a rejected promise (non-streamed), not an exception thrown at the caller', async () => {
    const { router } = makeRouter();
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = router.complete(broken);
    }).not.toThrow();
    await expect(pending).rejects.toThrow(TypeError);
    expect(standIn.calls).toHaveLength(0);
  });

  it('fails the stream (streamed)', async () => {
    const { router } = makeRouter();
    await expect(collect(router.stream(broken))).rejects.toThrow(TypeError);
    expect(standIn.calls).toHaveLength(0);
  });
});

describe.each([
  {
    name: 'non-streamed',
    run: (router: Router) => drive(clock, router.complete({ ...ask, tier: 'gold' })).then((r) => r.text),
  },
  {
    name: 'streamed',
    run: (router: Router) =>
      drive(clock, collect(router.stream({ ...ask, tier: 'gold' }))).then(streamedText),
  },
])('a request with a tier ($name)', ({ run }) => {
  it('carries it into its trace', async () => {
    const { router, traces } = makeRouter();
    expect(await run(router)).toBe('hello from the stand-in');
    expect(traces[0]!.tier).toBe('gold');
  });
});

/** An embeddings-only custom adapter answering `vectors` vectors of 3 numbers per call. */
function embedder(vectors: number): ProviderAdapter {
  return {
    provider: 'openai-compatible',
    model: 'gpt-4.1',
    complete: () => Promise.reject(new Error('not used')),
    stream: () => {
      throw new Error('not used');
    },
    embed: async () => ({
      embeddings: Array.from({ length: vectors }, () => [0.1, 0.2, 0.3]),
      usage: { inputTokens: 1_000, outputTokens: 0, cachedInputTokens: 0 },
      model: 'gpt-4.1',
    }),
  };
}

describe('embeddings with a vector missing', () => {
  it('are a malformed_response of that deployment: billed as waste, a breaker failure, and the route falls back', async () => {
    const { router, traces } = makeRouter(
      {
        prices: { 'gpt-4.1': { input: 2, output: 8 } },
        policies: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } },
      },
      undefined,
      { adapters: { primary: embedder(1), backup: embedder(2) } },
    );
    for (let i = 0; i < 2; i++) {
      const result = await drive(clock, router.embed({ model: 'chat', input: ['a', 'b'] }));
      expect(result.deployment).toBe('backup');
      expect(result.embeddings).toHaveLength(2);
    }
    const [short] = traces[0]!.attempts;
    expect(short).toMatchObject({ deployment: 'primary', outcome: 'error', errorKind: 'malformed_response' });
    expect(String(short!.error?.message)).toBe('primary returned 1 vectors for 2 inputs');
    expect(short!.costUsd).toBeGreaterThan(0);
    expect(traces[0]!.wastedUsd).toBeCloseTo(short!.costUsd, 12);
    // Two such answers in a row open primary's breaker: the third request goes straight to backup.
    await drive(clock, router.embed({ model: 'chat', input: ['a', 'b'] }));
    expect(traces[2]!.attempts.map((a) => a.deployment)).toEqual(['backup']);
    expect(traces[2]!.candidates[0]).toMatchObject({ deployment: 'primary', skipped: 'breaker-open' });
  });
});
