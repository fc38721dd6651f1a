import { type Chaos, createChaos } from '../../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { createSimulator, type Simulator, ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { type Clock, VirtualClock } from '../../../src/runtime/clock.ts';

export const KEY = 'sk-test-not-a-real-key';
export const ORIGIN = 'http://sim.test';

/** A simulator with no latency, so nothing waits unless a fault says so. */
export function fastSimulator(seed: number, clock: Clock): Simulator {
  return createSimulator({ clock, seed, latency: { '*': ZERO_LATENCY } });
}

export function chaosOverSimulator(rules: FaultRule[], seed = 7, clock: Clock = new VirtualClock()): Chaos {
  const simulator = fastSimulator(seed, clock);
  return createChaos({ clock, seed, rules, upstream: (request) => simulator.handle(request) });
}

const headers = {
  'content-type': 'application/json',
  authorization: `Bearer ${KEY}`,
  'anthropic-version': '2023-06-01',
};

export function post(
  path: string,
  body: unknown,
  init: { signal?: AbortSignal; origin?: string } = {},
): Request {
  return new Request(`${init.origin ?? ORIGIN}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

export const openaiBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say something.' }],
  ...extra,
});
export const anthropicBody = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user', content: 'Say something.' }],
  ...extra,
});
export const ollamaBody = (extra: Record<string, unknown> = {}) => ({
  model: 'llama3.2',
  messages: [{ role: 'user', content: 'Say something.' }],
  ...extra,
});

export const openaiReq = (extra?: Record<string, unknown>, signal?: AbortSignal) =>
  post('/v1/chat/completions', openaiBody(extra), signal ? { signal } : {});
export const anthropicReq = (extra?: Record<string, unknown>, signal?: AbortSignal) =>
  post('/v1/messages', anthropicBody(extra), signal ? { signal } : {});
export const ollamaReq = (extra?: Record<string, unknown>, signal?: AbortSignal) =>
  post('/api/chat', ollamaBody(extra), signal ? { signal } : {});

/** SSE frames (without the blank-line delimiter). */
export function sseFrames(text: string): string[] {
  return text.split('\n\n').filter((frame) => frame.length > 0);
}

/** The JSON payloads of SSE data lines, `[DONE]` kept as a string. */
export function sseData(text: string): unknown[] {
  return sseFrames(text).flatMap((frame) =>
    frame
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => {
        const data = line.slice(6);
        return data === '[DONE]' ? data : JSON.parse(data);
      }),
  );
}

export function ndjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

/** Concatenated text deltas of an OpenAI stream. */
export function openaiStreamText(text: string): string {
  return sseData(text)
    .filter((d): d is { choices: Array<{ delta?: { content?: string } }> } => typeof d === 'object')
    .map((d) => d.choices[0]?.delta?.content ?? '')
    .join('');
}
