import { VirtualClock } from '../../src/runtime/clock.ts';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { Router, type RouterOptions } from '../../src/runtime/router.ts';
import type { DecisionTrace } from '../../src/runtime/trace/trace.ts';
import type { StreamEvent } from '../../src/runtime/types.ts';
import { createStandIn } from './stand-in.ts';

export const KEY = 'sk-test-not-a-real-key';
const env = { PRIMARY_KEY: KEY, BACKUP_KEY: KEY, BIG_KEY: KEY };

// Origins (host:port) of the stand-in deployments. Fetch-spec "bad ports" are avoided.
export const PRIMARY = '127.0.0.1:4101';
export const BACKUP = '127.0.0.1:4102';
export const BIG = '127.0.0.1:4103';

/** An OpenAI-compatible deployment served by the stand-in at `origin`. */
export function deployment(id: string, origin: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    provider: 'openai-compatible' as const,
    model: 'gpt-4.1',
    baseURL: `http://${origin}/v1`,
    apiKey: { env: id === 'big' ? 'BIG_KEY' : id === 'backup' ? 'BACKUP_KEY' : 'PRIMARY_KEY' },
    ...extra,
  };
}

export const ask = {
  model: 'chat',
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
  maxOutputTokens: 50,
};

/**
 * One virtual clock and one scripted stand-in per test file, and routers over them: deployments
 * primary, backup and big; route chat = primary, falling back to backup.
 */
export function routerFixture() {
  const clock = new VirtualClock();
  const standIn = createStandIn(clock);
  const makeRouter = (
    overrides: Partial<RouterConfigInput> = {},
    random = () => 0.5,
    options: Partial<RouterOptions> = {},
  ) => {
    const traces: DecisionTrace[] = [];
    const config: RouterConfigInput = {
      deployments: [deployment('primary', PRIMARY), deployment('backup', BACKUP), deployment('big', BIG)],
      routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
      policies: { retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, retryAfterCapMs: 5_000 } },
      ...overrides,
    };
    const router = new Router({
      config,
      clock,
      env,
      random,
      fetch: standIn.fetch,
      newId: () => `t${traces.length + 1}`,
      ...options,
    });
    router.onTrace((trace) => traces.push(trace));
    return { router, traces };
  };
  return { clock, standIn, makeRouter };
}

export async function collect(iterable: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

/** The text-delta events of a stream, joined. */
export function streamedText(events: readonly StreamEvent[]): string {
  return events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
}
