import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson, ResponseCache } from '../../src/runtime/cache/index.ts';
import { nextTurn, VirtualClock } from '../../src/runtime/clock.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { MemoryStore } from '../../src/runtime/state.ts';
import type { ChatRequest, ChatResponse } from '../../src/runtime/types.ts';

const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'Answer in one word.' },
    { role: 'user', content: 'Capital of France?' },
  ],
  temperature: 0,
  maxOutputTokens: 10,
};

function response(text: string): ChatResponse {
  return {
    id: `resp-${text}`,
    text,
    toolCalls: [],
    finishReason: 'stop',
    usage: { inputTokens: 20, outputTokens: 1, cachedInputTokens: 0 },
    model: 'gpt-4o-mini',
    provider: 'openai',
    deployment: 'openai-mini',
    costUsd: 0.00001,
    latencyMs: 120,
    ttftMs: 120,
    cached: false,
    traceId: 'trace-1',
  };
}

function setup(ttlMs = 60_000) {
  const clock = new VirtualClock();
  const store = new MemoryStore(clock);
  return { clock, store, cache: new ResponseCache(store, clock, { ttlMs }) };
}

/** A promise with its resolvers, to hold an upstream call open while others pile up. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('cacheKey', () => {
  const key = cacheKey('main', request);

  it('is a sha256 hex digest', () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores who asks and how the request is labelled', () => {
    expect(
      cacheKey('main', {
        ...request,
        tenant: 'acme',
        metadata: { user: 'u1' },
        tags: ['beta'],
        noCache: false,
      }),
    ).toBe(key);
    expect(cacheKey('main', { ...request, tenant: 'globex' })).toBe(key);
  });

  it('changes with anything that changes the answer', () => {
    const variants: ChatRequest[] = [
      { ...request, temperature: 0.7 },
      { ...request, maxOutputTokens: 11 },
      { ...request, stop: ['\n'] },
      { ...request, responseFormat: 'json' },
      { ...request, toolChoice: 'none' },
      { ...request, tools: [{ name: 'lookup', parameters: { type: 'object' } }] },
      {
        ...request,
        messages: [...request.messages.slice(0, 1), { role: 'user', content: 'Capital of Spain?' }],
      },
      { ...request, messages: request.messages.slice(1) },
    ];
    const keys = new Set([key, ...variants.map((v) => cacheKey('main', v))]);
    expect(keys.size).toBe(variants.length + 1);
    expect(cacheKey('other-route', request)).not.toBe(key);
  });

  it('does not depend on key order or on fields set to undefined', () => {
    const reordered: ChatRequest = {
      maxOutputTokens: 10,
      temperature: 0,
      messages: [
        { content: 'Answer in one word.', role: 'system' },
        { content: 'Capital of France?', role: 'user', toolCallId: undefined },
      ],
      stop: undefined,
    };
    expect(cacheKey('main', reordered)).toBe(key);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined fields like JSON.stringify', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
    );
    expect(canonicalJson([undefined, 'x'])).toBe('[null,"x"]');
  });
});

describe('ResponseCache', () => {
  it('serves a stored response, marked as cached, until its TTL passes on the clock', async () => {
    const { cache, clock } = setup(60_000);
    const key = cacheKey('main', request);
    expect(await cache.get(key)).toBeUndefined();
    await cache.set(key, response('Paris'));
    expect(await cache.get(key)).toMatchObject({ text: 'Paris', cached: true });
    await clock.advance(59_999);
    expect(await cache.get(key)).toMatchObject({ text: 'Paris' });
    await clock.advance(1);
    expect(await cache.get(key)).toBeUndefined();
  });

  it('honours a per-entry TTL', async () => {
    const { cache, clock } = setup(60_000);
    await cache.set('k', response('short'), 1_000);
    await clock.advance(1_000);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('keeps entries under the cache: prefix of the shared store', async () => {
    const { cache, store } = setup();
    await cache.set('abc', response('Paris'));
    expect(await store.get('cache:abc')).toBeDefined();
    expect(await store.get('abc')).toBeUndefined();
  });

  it('judges expiry by its own clock, not only by the store TTL', async () => {
    // A shared store expires on real time; under a virtual clock the cache must still expire entries.
    const clock = new VirtualClock();
    const storeClock = new VirtualClock(); // never advanced: the store itself never expires anything
    const cache = new ResponseCache(new MemoryStore(storeClock), clock, { ttlMs: 1_000 });
    await cache.set('k', response('Paris'));
    await clock.advance(1_000);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('calls upstream once for 10 concurrent identical requests', async () => {
    const { cache } = setup();
    const key = cacheKey('main', request);
    const upstream = deferred<ChatResponse>();
    let calls = 0;
    const fn = () => {
      calls++;
      return upstream.promise;
    };
    const waiters = Array.from({ length: 10 }, () => cache.singleFlight(key, fn));
    await Promise.resolve();
    expect(cache.inFlight).toBe(1);
    upstream.resolve(response('Paris'));
    const results = await Promise.all(waiters);
    expect(calls).toBe(1);
    expect(results.every((r) => r.text === 'Paris')).toBe(true);
    expect(cache.inFlight).toBe(0);
  });

  it('does not coalesce different keys', async () => {
    const { cache } = setup();
    let calls = 0;
    const fn = async () => {
      calls++;
      return response('x');
    };
    await Promise.all([cache.singleFlight('a', fn), cache.singleFlight('b', fn)]);
    expect(calls).toBe(2);
  });

  it('propagates a failure to every waiter, caches nothing, and lets the next call try again', async () => {
    const { cache, store } = setup();
    const key = cacheKey('main', request);
    const upstream = deferred<ChatResponse>();
    let calls = 0;
    const failing = () => {
      calls++;
      return upstream.promise;
    };
    const waiters = Array.from({ length: 10 }, () => cache.getOrCompute(key, failing));
    // Let every caller pass its cache lookup and join the one call in flight.
    await nextTurn();
    upstream.reject(new SwitchyardError('server_error', { message: 'upstream 500' }));
    const outcomes = await Promise.allSettled(waiters);
    expect(calls).toBe(1);
    expect(
      outcomes.every((o) => o.status === 'rejected' && (o.reason as SwitchyardError).kind === 'server_error'),
    ).toBe(true);
    expect(store.size).toBe(0);
    expect(cache.inFlight).toBe(0);

    const ok = await cache.getOrCompute(key, async () => {
      calls++;
      return response('Paris');
    });
    expect(calls).toBe(2);
    expect(ok.text).toBe('Paris');
    expect(await cache.get(key)).toMatchObject({ text: 'Paris', cached: true });
  });

  it('recovers from an upstream function that throws synchronously', async () => {
    const { cache } = setup();
    const boom = (): Promise<ChatResponse> => {
      throw new Error('sync boom');
    };
    await expect(cache.singleFlight('k', boom)).rejects.toThrow('sync boom');
    expect(cache.inFlight).toBe(0);
    await expect(cache.singleFlight('k', async () => response('again'))).resolves.toMatchObject({
      text: 'again',
    });
  });

  it('getOrCompute serves from the cache without calling upstream, and respects shouldStore', async () => {
    const { cache } = setup();
    let calls = 0;
    const fn = async () => {
      calls++;
      return { ...response('Par'), finishReason: 'length' as const };
    };
    const notTruncated = (r: ChatResponse) => r.finishReason !== 'length';
    await cache.getOrCompute('k', fn, notTruncated);
    await cache.getOrCompute('k', fn, notTruncated);
    expect(calls).toBe(2);
    await cache.getOrCompute('j', fn);
    const hit = await cache.getOrCompute('j', fn);
    expect(calls).toBe(3);
    expect(hit.cached).toBe(true);
  });
});
