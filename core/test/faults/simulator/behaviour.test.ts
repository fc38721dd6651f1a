import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSimulator,
  type LatencyProfile,
  type Simulator,
  ZERO_LATENCY,
} from '../../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import { FAKE_KEY, ORIGIN, simServer } from './helpers.ts';

const sim = simServer();
beforeAll(() => sim.server.listen());
afterAll(() => sim.server.close());

const STEADY: LatencyProfile = { ttftMedianMs: 500, ttftSigma: 0, tokensPerSecond: 50, tokensPerSecondSd: 0 };

function openaiRequest(body: Record<string, unknown>, signal?: AbortSignal): Request {
  return new Request(`${ORIGIN}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...body }),
    ...(signal ? { signal } : {}),
  });
}

/** Tracks whether a promise has settled without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

describe('pacing on a VirtualClock', () => {
  it('a stream delivers its first chunk only after TTFT, then one token every 1/tps', async () => {
    const clock = new VirtualClock();
    sim.use({ clock, seed: 41, latency: { 'gpt-4o-mini': STEADY } });
    const client = new OpenAI({ apiKey: FAKE_KEY, baseURL: `${ORIGIN}/v1`, maxRetries: 0 });
    const created = track(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      }),
    );
    await clock.advance(499);
    expect(created.settled).toBe(false);
    await clock.advance(1);
    await clock.advance(0, 20);
    expect(created.settled).toBe(true);
    const iterator = created.value![Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value!.choices[0]!.delta.role).toBe('assistant');
    const second = await iterator.next();
    expect(second.value!.choices[0]!.delta.content!.length).toBeGreaterThan(0);
    // The next token is due 20 ms (1/50 s) later, not before.
    const third = track(iterator.next());
    await clock.advance(19, 10);
    expect(third.settled).toBe(false);
    await clock.advance(1, 10);
    expect(third.settled).toBe(true);
    await iterator.return?.();
  });

  it('a non-streamed response waits TTFT + (tokens - 1)/tps', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 42, latency: { 'gpt-4o-mini': STEADY } });
    const pending = track(simulator.handle(openaiRequest({ max_tokens: 11 })));
    // 11 tokens: TTFT 500 ms, then 10 more at 20 ms each.
    await clock.advance(699);
    expect(pending.settled).toBe(false);
    await clock.advance(1);
    await clock.advance(0, 5);
    expect(pending.settled).toBe(true);
    const body = (await pending.value!.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(11);
    expect(pending.value!.headers.get('openai-processing-ms')).toBe('700');
  });

  it('a zero-latency profile schedules no timer at all', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 43, latency: { '*': ZERO_LATENCY } });
    const response = await simulator.handle(openaiRequest({ stream: true }));
    const text = await response.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a client abort mid-stream stops production and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 44, latency: { '*': STEADY } });
    const abort = new AbortController();
    const responding = simulator.handle(openaiRequest({ stream: true }, abort.signal));
    await clock.advance(500);
    const response = await responding;
    const reader = response.body!.getReader();
    await reader.read();
    // The producer is now sleeping until the next token.
    await clock.advance(0, 5);
    expect(clock.pendingTimers).toBe(1);
    abort.abort();
    await expect(reader.read()).rejects.toThrow();
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancelling the body also clears the pending timer; aborting before headers rejects handle()', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 45, latency: { '*': STEADY } });
    const responding = simulator.handle(openaiRequest({ stream: true }));
    await clock.advance(500);
    const reader = (await responding).body!.getReader();
    await reader.read();
    await clock.advance(0, 5);
    await reader.cancel();
    expect(clock.pendingTimers).toBe(0);

    const abort = new AbortController();
    const early = simulator.handle(openaiRequest({}, abort.signal));
    await clock.advance(100);
    abort.abort();
    await expect(early).rejects.toThrow();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('determinism', () => {
  async function run(simulator: Simulator): Promise<string[]> {
    const bodies: string[] = [];
    const requests = [
      openaiRequest({}),
      openaiRequest({}),
      new Request(`${ORIGIN}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': FAKE_KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 300,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      }),
      new Request(`${ORIGIN}/api/generate`, {
        method: 'POST',
        body: JSON.stringify({ model: 'llama3.2', prompt: 'hi', stream: true }),
      }),
    ];
    for (const request of requests) bodies.push(await (await simulator.handle(request)).text());
    return bodies;
  }

  const make = (seed: number) =>
    createSimulator({ clock: new VirtualClock(), seed, latency: { '*': ZERO_LATENCY } });

  it('the same seed and request sequence give byte-identical responses', async () => {
    expect(await run(make(7))).toEqual(await run(make(7)));
  });

  it('different seeds give different texts; repeating a request in one run gives a new text', async () => {
    const a = await run(make(7));
    const b = await run(make(8));
    const text = (body: string) =>
      (JSON.parse(body) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    expect(text(a[0]!)).not.toBe(text(b[0]!));
    expect(text(a[0]!)).not.toBe(text(a[1]!));
  });
});
