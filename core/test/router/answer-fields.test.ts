import { afterEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import type { ProviderAdapter } from '../../src/runtime/providers/adapter.ts';
import type { Router } from '../../src/runtime/router.ts';
import { ask, collect, PRIMARY, routerFixture } from './fixture.ts';
import { outcomeModes } from './modes.ts';
import { drive, rateLimited, type Step } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

const call = { id: 'c1', name: 'get_weather', arguments: '{"city":"Oslo"}' };

/** Fails its first call (a retryable 500), then streams: 300 ms to "Hi", 200 ms to a tool call, 100 ms to the end. */
function slowStreamer(): ProviderAdapter {
  let calls = 0;
  return {
    provider: 'openai-compatible',
    model: 'gpt-4.1',
    complete: () => Promise.reject(new Error('not used')),
    stream: async function* () {
      if (calls++ === 0)
        throw new SwitchyardError('server_error', { message: 'boom', status: 500, retryable: true });
      await clock.sleep(300);
      yield { type: 'text-delta', text: 'Hi' };
      await clock.sleep(200);
      yield { type: 'tool-call', call };
      await clock.sleep(100);
      yield { type: 'finish', finishReason: 'tool_calls', id: 'fin-1', model: 'm-x' };
    },
  };
}

// The response a finished stream ends with, and what the router learns from it (a retry first, so
// the attempt starts after the request did).
describe('a stream that ends well', () => {
  it('answers with its id, model, tool calls and timings measured from the request', async () => {
    const { router } = makeRouter({ routes: [{ name: 'chat', deployments: ['primary'] }] }, () => 0.5, {
      adapters: { primary: slowStreamer() },
    });
    const events = await drive(clock, collect(router.stream(ask)));
    const done = events.at(-1);
    if (done?.type !== 'done') throw new Error('no done event');
    // The retry waited its backoff (100 ms base, jitter 0.5): 50 ms.
    expect(done.response).toMatchObject({
      id: 'fin-1',
      model: 'm-x',
      text: 'Hi',
      toolCalls: [call],
      finishReason: 'tool_calls',
      latencyMs: 650,
      ttftMs: 350,
      cached: false,
    });
    expect(await router.latency.stats('primary')).toMatchObject({ ewmaLatencyMs: 600, ewmaTtftMs: 300 });
  });
});

const quotaGone: Step = {
  kind: 'error',
  status: 429,
  body: {
    error: {
      message: 'You exceeded your current quota.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    },
  },
};

// What a request refused at the gate says, and what its trace records.
describe.each(outcomeModes)('a deployment refused at the gate ($name)', ({ run }) => {
  const only = { routes: [{ name: 'chat', deployments: ['primary'] }] };
  const refusal = async (router: Router) =>
    (await drive(clock, run(router)).catch((e: unknown) => e)) as SwitchyardError;

  it('cooling down after a quota ran out: quota_exhausted, saying so', async () => {
    const { router, traces } = makeRouter(only);
    standIn.script(PRIMARY, quotaGone);
    await refusal(router);
    const error = await refusal(router);
    expect(error.kind).toBe('quota_exhausted');
    expect(error.message).toBe('primary is cooling down for 600000 ms more: its quota is exhausted');
    expect(traces[1]!.candidates[0]!.detail).toBe('cooling down for 600000 ms more: its quota is exhausted');
  });

  it('cooling down after a long Retry-After: rate_limited, saying so', async () => {
    const { router, traces } = makeRouter(only);
    standIn.script(PRIMARY, rateLimited(30));
    await refusal(router);
    const error = await refusal(router);
    expect(error.kind).toBe('rate_limited');
    expect(error.message).toBe(
      'primary is cooling down for 30000 ms more: its provider asked to retry later',
    );
    expect(traces[1]!.candidates[0]!.detail).toContain('its provider asked to retry later');
  });

  it('its breaker open: circuit_open, with the time of the next probe in the trace', async () => {
    const { router, traces } = makeRouter({
      ...only,
      policies: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1, openMs: 10_000 } },
    });
    standIn.script(PRIMARY, { kind: 'error', status: 500, body: { error: { message: 'boom' } } });
    await refusal(router);
    const at = clock.now();
    const error = await refusal(router);
    expect(error).toMatchObject({ kind: 'circuit_open', message: 'circuit open for primary' });
    expect(traces[1]!.candidates[0]).toMatchObject({
      skipped: 'breaker-open',
      detail: 'breaker open, next probe in 10000 ms',
      until: at + 10_000,
    });
  });
});

describe('trace listeners', () => {
  it('stop hearing once unsubscribed', async () => {
    const { router } = makeRouter();
    const heard: string[] = [];
    const stop = router.onTrace((t) => heard.push(t.id));
    await drive(clock, router.complete(ask));
    stop();
    await drive(clock, router.complete(ask));
    expect(heard).toHaveLength(1);
  });
});
