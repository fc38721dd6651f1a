import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderAdapter } from '../../src/runtime/providers/adapter.ts';
import type { ProviderStreamEvent, StreamEvent } from '../../src/runtime/types.ts';
import { ask, BACKUP, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

const once = { policies: { retry: { maxAttempts: 1 } } };

/** Reads a stream to its end; a stream that fails after its first token ends with an error event. */
async function readAll(stream: AsyncIterable<StreamEvent>) {
  const events = await collect(stream);
  const last = events.at(-1);
  return { events, error: last?.type === 'error' ? last.error : undefined };
}

/** A custom adapter whose streams replay `events` (its non-streamed call is not used). */
function streaming(events: ProviderStreamEvent[]): ProviderAdapter {
  return {
    provider: 'openai-compatible',
    model: 'gpt-4.1',
    complete: () => Promise.reject(new Error('not used')),
    stream: async function* () {
      yield* events;
    },
  };
}

// JSON mode over a stream can only be checked once the whole answer is in (the non-streamed check
// is in router.test.ts: 'retries an answer that is not JSON although JSON mode was asked for').
describe('JSON mode, streamed', () => {
  it('a streamed answer that is not JSON ends in a malformed_response, after the text it streamed', async () => {
    const { router, traces } = makeRouter(once);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Sure! ', '{"a": 1}'] });
    const { events, error } = await drive(clock, readAll(router.stream({ ...ask, responseFormat: 'json' })));
    expect(streamedText(events)).toBe('Sure! {"a": 1}');
    expect(error).toMatchObject({ kind: 'malformed_response', deployment: 'primary', status: 200 });
    expect(error!.message).toContain('not valid JSON although JSON mode was requested');
    expect(traces[0]!.attempts[0]).toMatchObject({ deployment: 'primary', errorKind: 'malformed_response' });
  });

  it('a streamed answer that is JSON ends normally', async () => {
    const { router, traces } = makeRouter(once);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['{"a": ', '1}'] });
    const { events, error } = await drive(clock, readAll(router.stream({ ...ask, responseFormat: 'json' })));
    expect(error).toBeUndefined();
    expect(JSON.parse(streamedText(events))).toEqual({ a: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    expect(traces[0]!.attempts[0]!.outcome).toBe('success');
  });

  it('a streamed answer cut by its length is not held to JSON (it could not be complete)', async () => {
    const { router } = makeRouter(once);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['{"a": ', '1, "b'], finish: 'length' });
    const { events, error } = await drive(clock, readAll(router.stream({ ...ask, responseFormat: 'json' })));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'done', response: { finishReason: 'length' } });
  });

  it('without JSON mode, any text ends normally', async () => {
    const { router } = makeRouter(once);
    standIn.script(PRIMARY, { kind: 'stream', chunks: ['Sure! ', 'no JSON here'] });
    const { error } = await drive(clock, readAll(router.stream(ask)));
    expect(error).toBeUndefined();
  });
});

describe('a stream that finishes before its first token', () => {
  it('is an empty answer: a malformed_response of that deployment, and the route falls back', async () => {
    const { router, traces } = makeRouter(once);
    standIn.script(PRIMARY, { kind: 'stream', chunks: [] });
    standIn.script(BACKUP, { kind: 'stream', chunks: ['Hi', ' there'] });
    const events = await drive(clock, collect(router.stream(ask)));
    expect(streamedText(events)).toBe('Hi there');
    expect(traces[0]!.attempts.map((a) => [a.deployment, a.errorKind, a.next])).toEqual([
      ['primary', 'malformed_response', 'fallback'],
      ['backup', undefined, 'done'],
    ]);
    expect(String(traces[0]!.attempts[0]!.error?.message)).toContain('an empty answer');
  });

  it('with a tool call or a length cut it is an answer (nothing to check), streamed as it came', async () => {
    const toolCall: ProviderStreamEvent = {
      type: 'tool-call',
      call: { id: 'c1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    };
    for (const events of [
      [toolCall, { type: 'finish', finishReason: 'tool_calls' }],
      [{ type: 'finish', finishReason: 'length' }],
    ] as ProviderStreamEvent[][]) {
      const { router, traces } = makeRouter(once, undefined, { adapters: { primary: streaming(events) } });
      const out = await drive(clock, collect(router.stream(ask)));
      expect(out.at(-1)).toMatchObject({ type: 'done', response: { deployment: 'primary' } });
      expect(traces[0]!.attempts.map((a) => a.outcome)).toEqual(['success']);
    }
  });
});

// The built-in adapters turn a stream that stops short into a typed error themselves; the router
// checks what any adapter yields.
describe('a custom adapter whose stream stops short', () => {
  it('with nothing at all: a network error of that deployment before the first token, and the route falls back', async () => {
    const { router, traces } = makeRouter(once, undefined, { adapters: { primary: streaming([]) } });
    standIn.script(BACKUP, { kind: 'stream', chunks: ['Hi', ' there'] });
    const events = await drive(clock, collect(router.stream(ask)));
    expect(streamedText(events)).toBe('Hi there');
    expect(traces[0]!.attempts[0]).toMatchObject({
      deployment: 'primary',
      errorKind: 'network',
      next: 'fallback',
    });
    expect(String(traces[0]!.attempts[0]!.error?.message)).toBe('stream ended before its first token');
  });

  it('after its text but without a finish event: the caller gets the text, then a network error', async () => {
    const { router, traces } = makeRouter(once, undefined, {
      adapters: { primary: streaming([{ type: 'text-delta', text: 'Hello' }]) },
    });
    const { events, error } = await drive(clock, readAll(router.stream(ask)));
    expect(streamedText(events)).toBe('Hello');
    expect(error).toMatchObject({ kind: 'network', deployment: 'primary' });
    expect(error!.message).toBe('stream ended without a finish event');
    expect(traces[0]!.attempts[0]).toMatchObject({ deployment: 'primary', errorKind: 'network' });
  });
});
