import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { type Chaos, createChaos } from '../../../src/faults/chaos/engine.ts';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import type { Provider } from '../../../src/faults/chaos/wire.ts';
import { chaosFetch } from '../../../src/faults/delivery/fetch.ts';
import { createSimulator, ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { nextTurn, type VirtualClock } from '../../../src/runtime/clock.ts';
import type { SwitchyardError } from '../../../src/runtime/errors.ts';
import { Router } from '../../../src/runtime/router.ts';
import type { AttemptRecord, DecisionTrace } from '../../../src/runtime/trace/trace.ts';
import type { ChatRequest, FinishReason } from '../../../src/runtime/types.ts';

export const KEY = 'sk-test-not-a-real-key';
export const ORIGIN = 'http://sim.test';
export const SEED = 41;

/** The router's deadlines in these tests: all different, so the phase that fired is unambiguous. */
export const TIMEOUTS = {
  headersMs: 1_000,
  firstTokenMs: 2_000,
  idleMs: 3_000,
  bodyIdleMs: 6_000,
  attemptMs: 10_000,
  totalMs: 60_000,
};

/** Simulator (zero latency) behind the chaos handler, both on the test's virtual clock. */
export function chaosOn(clock: VirtualClock, rules: FaultRule[]): Chaos {
  const simulator = createSimulator({ clock, seed: SEED, latency: { '*': ZERO_LATENCY } });
  return createChaos({ clock, seed: SEED, rules, upstream: (request) => simulator.handle(request) });
}

export type Outcome<T> =
  | { status: 'ok'; value: T }
  | { status: 'error'; error: unknown }
  | { status: 'pending' };

/**
 * Runs `promise` on the virtual clock until it settles, or reports it pending when no timer is left
 * or `limitMs` of virtual time went by (an SDK that never gives up on its own).
 */
export async function settle<T>(
  clock: VirtualClock,
  promise: Promise<T>,
  limitMs = 120_000,
): Promise<Outcome<T>> {
  let outcome: Outcome<T> = { status: 'pending' };
  promise.then(
    (value) => {
      outcome = { status: 'ok', value };
    },
    (error: unknown) => {
      outcome = { status: 'error', error };
    },
  );
  const start = clock.now();
  for (;;) {
    let quiet = 0;
    let last = '';
    while (quiet < 8 && outcome.status === 'pending') {
      await nextTurn();
      const now = `${clock.pendingTimers}/${clock.nextTimerAt()}`;
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    if (outcome.status !== 'pending') return outcome;
    const next = clock.nextTimerAt();
    if (next === undefined || next - start > limitMs) return outcome;
    await clock.runNext(0);
  }
}

// ---------------------------------------------------------------------------------------------
// (a) the SDK alone

export interface SdkResult {
  text: string;
  /** finish_reason / stop_reason / done_reason; undefined when the stream never said. */
  finish: string | undefined;
}

const user = [{ role: 'user' as const, content: 'Say something.' }];
export const MODELS: Record<Provider, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  ollama: 'llama3.2',
};

/** One call through the real SDK (retries off), its fetch being the chaos handler. */
export async function sdkCall(
  provider: Provider,
  chaos: Chaos,
  options: { stream: boolean; json: boolean; signal: AbortSignal },
): Promise<SdkResult> {
  const base = chaosFetch(chaos);
  const fetch: typeof globalThis.fetch = (input, init) => base(input, { ...init, signal: options.signal });
  const { stream, json } = options;
  if (provider === 'openai') {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${ORIGIN}/v1`, maxRetries: 0, fetch });
    const body = {
      model: MODELS.openai,
      messages: user,
      max_tokens: 200,
      ...(json ? { response_format: { type: 'json_object' as const } } : {}),
    };
    if (!stream) {
      const completion = await client.chat.completions.create(body);
      const choice = completion.choices[0];
      return { text: choice?.message.content ?? '', finish: choice?.finish_reason ?? undefined };
    }
    let text = '';
    let finish: string | undefined;
    for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    return { text, finish };
  }
  if (provider === 'anthropic') {
    const client = new Anthropic({ apiKey: KEY, baseURL: ORIGIN, maxRetries: 0, fetch });
    const body = { model: MODELS.anthropic, max_tokens: 200, messages: user };
    if (!stream) {
      const message = await client.messages.create(body);
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      return { text, finish: message.stop_reason ?? undefined };
    }
    let text = '';
    let finish: string | undefined;
    for await (const event of await client.messages.create({ ...body, stream: true })) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') finish = event.delta.stop_reason ?? finish;
    }
    return { text, finish };
  }
  const client = new Ollama({ host: ORIGIN, fetch });
  const body = { model: MODELS.ollama, messages: user, ...(json ? { format: 'json' } : {}) };
  if (!stream) {
    const reply = await client.chat({ ...body, stream: false });
    return { text: reply.message.content, finish: reply.done_reason };
  }
  let text = '';
  let finish: string | undefined;
  for await (const part of await client.chat({ ...body, stream: true })) {
    text += part.message.content;
    if (part.done) finish = part.done_reason;
  }
  return { text, finish };
}

// ---------------------------------------------------------------------------------------------
// (b) through the Router

export interface RouterResult {
  ok: boolean;
  text: string;
  finishReason: FinishReason | undefined;
  error: SwitchyardError | undefined;
  /** Text streamed before a failure (streams only). */
  partialText: string;
  attempts: AttemptRecord[];
  trace: DecisionTrace;
}

const BASE_URL: Record<Provider, string> = { openai: `${ORIGIN}/v1`, anthropic: ORIGIN, ollama: ORIGIN };

export function routerFor(
  provider: Provider,
  clock: VirtualClock,
  chaos: Chaos,
): { router: Router; traces: DecisionTrace[] } {
  const traces: DecisionTrace[] = [];
  const router = new Router({
    config: {
      deployments: [
        {
          id: 'only',
          provider,
          model: MODELS[provider],
          baseURL: BASE_URL[provider],
          ...(provider === 'ollama' ? {} : { apiKey: { env: 'SIM_KEY' } }),
        },
      ],
      routes: [{ name: 'chat', deployments: ['only'] }],
      policies: { retry: { maxAttempts: 1 }, timeouts: TIMEOUTS },
    },
    clock,
    env: { SIM_KEY: KEY },
    random: () => 0.5,
    newId: () => `trace-${traces.length + 1}`,
    fetch: chaosFetch(chaos),
  });
  router.onTrace((trace) => traces.push(trace));
  return { router, traces };
}

export async function routerCall(
  provider: Provider,
  clock: VirtualClock,
  chaos: Chaos,
  options: { stream: boolean; json: boolean },
): Promise<RouterResult> {
  const { router, traces } = routerFor(provider, clock, chaos);
  const request: ChatRequest = {
    model: 'chat',
    messages: [{ role: 'user', content: 'Say something.' }],
    maxOutputTokens: 200,
    ...(options.json ? { responseFormat: 'json' as const } : {}),
  };
  const run = async (): Promise<Omit<RouterResult, 'attempts' | 'trace'>> => {
    if (!options.stream) {
      try {
        const response = await router.complete(request);
        return {
          ok: true,
          text: response.text,
          finishReason: response.finishReason,
          error: undefined,
          partialText: '',
        };
      } catch (error) {
        return {
          ok: false,
          text: '',
          finishReason: undefined,
          error: error as SwitchyardError,
          partialText: '',
        };
      }
    }
    let text = '';
    for await (const event of router.stream(request)) {
      if (event.type === 'text-delta') text += event.text;
      if (event.type === 'error') {
        return {
          ok: false,
          text,
          finishReason: undefined,
          error: event.error,
          partialText: event.partialText,
        };
      }
      if (event.type === 'done') {
        return {
          ok: true,
          text: event.response.text,
          finishReason: event.response.finishReason,
          error: undefined,
          partialText: '',
        };
      }
    }
    throw new Error('router stream ended without done or error');
  };
  const outcome = await settle(clock, run(), 600_000);
  if (outcome.status !== 'ok') throw new Error(`router call did not finish: ${outcome.status}`);
  const trace = traces.at(-1);
  if (!trace) throw new Error('no decision trace');
  return { ...outcome.value, attempts: trace.attempts, trace };
}
