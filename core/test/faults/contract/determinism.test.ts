import { describe, expect, it } from 'vitest';
import { createChaos, type InjectionEvent } from '../../../src/faults/chaos/engine.ts';
import type { ChaosCounters, FaultRule } from '../../../src/faults/chaos/plan.ts';
import { mulberry32 } from '../../../src/faults/chaos/prng.ts';
import { createSimulator } from '../../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import { settle } from '../router-kinds/harness.ts';

/**
 * Same seed + same request sequence → the same run: identical response bytes, identical injected
 * faults (the onInject journal, timestamps included) and identical counters. 200 mixed requests over
 * all three providers, streamed and not, with probabilistic and time-ramped fault rules, on a
 * VirtualClock with the models' real latency profiles (so timing is part of what must repeat).
 */

const KEY = 'sk-test-not-a-real-key';
const RULES: FaultRule[] = [
  { id: 'flaky-5xx', fault: 'server_error', injection: { rate: 0.12 } },
  {
    id: 'ramping-429',
    fault: 'rate_limit',
    injection: { ramp: { fromMs: 0, toMs: 120_000, fromRate: 0, toRate: 0.4 } },
  },
  { id: 'cuts', fault: 'stream_cut', params: { afterChunks: 4 }, injection: { rate: 0.25 } },
  { id: 'short', fault: 'truncated_answer', params: { maxChars: 30 }, injection: { rate: 0.15 } },
  { id: 'slow', fault: 'latency', params: { delayMs: 750 }, injection: { rate: 0.1 } },
  { id: 'garbled', fault: 'malformed_json', injection: { everyNth: 7 } },
];

interface Planned {
  path: string;
  method: 'GET' | 'POST';
  body?: Record<string, unknown>;
}

/** The request sequence: drawn once from a fixed PRNG, identical for every run. */
function plannedRequests(count: number): Planned[] {
  const random = mulberry32(2026);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const out: Planned[] = [];
  for (let i = 0; i < count; i++) {
    const stream = random() < 0.5;
    const content = pick(['Hello', 'Summarise the news.', 'Write a haiku.', 'List three colours.']);
    const messages = [{ role: 'user', content }];
    switch (
      pick(['openai', 'openai-json', 'anthropic', 'ollama-chat', 'ollama-generate', 'models'] as const)
    ) {
      case 'openai':
        out.push({
          method: 'POST',
          path: '/v1/chat/completions',
          body: { model: 'gpt-4o-mini', messages, stream },
        });
        break;
      case 'openai-json':
        out.push({
          method: 'POST',
          path: '/v1/chat/completions',
          body: { model: 'gpt-4.1-mini', messages, stream, response_format: { type: 'json_object' } },
        });
        break;
      case 'anthropic':
        out.push({
          method: 'POST',
          path: '/v1/messages',
          body: { model: 'claude-haiku-4-5', max_tokens: 300, messages, stream },
        });
        break;
      case 'ollama-chat':
        out.push({ method: 'POST', path: '/api/chat', body: { model: 'llama3.2', messages, stream } });
        break;
      case 'ollama-generate':
        out.push({
          method: 'POST',
          path: '/api/generate',
          body: { model: 'qwen2.5:7b', prompt: content, stream },
        });
        break;
      case 'models':
        out.push({ method: 'GET', path: pick(['/v1/models', '/api/tags']) });
        break;
    }
  }
  return out;
}

interface RunRecord {
  responses: string[];
  events: InjectionEvent[];
  counters: ChaosCounters;
  endedAt: number;
}

async function run(seed: number, requests: Planned[]): Promise<RunRecord> {
  const clock = new VirtualClock();
  const simulator = createSimulator({ clock, seed });
  const events: InjectionEvent[] = [];
  const chaos = createChaos({
    clock,
    seed,
    rules: RULES,
    upstream: (request) => simulator.handle(request),
    onInject: (event) => events.push(event),
  });
  const responses: string[] = [];
  for (const planned of requests) {
    const request = new Request(`http://sim.test${planned.path}`, {
      method: planned.method,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${KEY}`,
        'anthropic-version': '2023-06-01',
      },
      ...(planned.body ? { body: JSON.stringify(planned.body) } : {}),
    });
    const outcome = await settle(
      clock,
      chaos.handle(request).then(async (response) => `${response.status} ${await response.text()}`),
      600_000,
    );
    if (outcome.status === 'pending') throw new Error(`request to ${planned.path} never finished`);
    responses.push(outcome.status === 'ok' ? outcome.value : `threw ${String(outcome.error)}`);
  }
  return { responses, events, counters: chaos.counters(), endedAt: clock.now() };
}

describe('determinism: same seed, same requests → same run', () => {
  const requests = plannedRequests(200);

  it('two independent runs agree byte for byte; a different seed does not', async () => {
    const first = await run(7, requests);
    const second = await run(7, requests);
    const other = await run(8, requests);

    // The run was not trivial: many faults of several kinds, streams and JSON bodies, time passing.
    expect(first.responses).toHaveLength(200);
    expect(first.counters.requests.total).toBe(200);
    expect(first.counters.injected.total).toBeGreaterThan(30);
    expect(Object.keys(first.counters.injected.byRule).sort()).toEqual(
      ['cuts', 'flaky-5xx', 'garbled', 'ramping-429', 'short', 'slow'].sort(),
    );
    expect(first.events.length).toBe(first.counters.injected.total);
    expect(new Set(first.events.map((e) => e.at)).size).toBeGreaterThan(10);
    expect(first.endedAt - Date.UTC(2026, 0, 1)).toBeGreaterThan(60_000);
    expect(first.responses.filter((r) => r.startsWith('200 ')).length).toBeGreaterThan(100);

    expect(second.responses).toEqual(first.responses);
    expect(second.events).toEqual(first.events);
    expect(second.counters).toEqual(first.counters);
    expect(second.endedAt).toBe(first.endedAt);

    // Another seed: other texts and another fault sequence, on the very same requests.
    const sameText = other.responses.filter((r, i) => r === first.responses[i] && r.startsWith('200 {"id"'));
    expect(sameText.length).toBeLessThan(5);
    expect(other.events.map((e) => e.ruleId)).not.toEqual(first.events.map((e) => e.ruleId));
    expect(other.counters.injected.byRule).not.toEqual(first.counters.injected.byRule);
  });
});
