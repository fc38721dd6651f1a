/**
 * Shared pieces of the soak tests: the catalogue turned into one rule per (fault, provider), the
 * three-deployment router config, a seeded request mix, and the one-request driver that turns every
 * outcome into 'ok' or a typed error (anything else is a finding).
 */
import { mulberry32 } from '../../src/faults/chaos/prng.ts';
import { FAULT_IDS, FAULTS, type FaultRule } from '../../src/faults/index.ts';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { isSwitchyardError } from '../../src/runtime/errors.ts';
import type { Router } from '../../src/runtime/router.ts';
import type { ChatRequest } from '../../src/runtime/types.ts';

export const MODELS = {
  openai: 'gpt-4.1',
  anthropic: 'claude-sonnet-4-6',
  ollama: 'llama3.2:latest',
} as const;

/**
 * Every fault of the catalogue, once per provider it applies to (and only on the calls it applies
 * to), at a modest rate; every third rule is only active in a window, so the run has phases.
 */
export function catalogueRules(rate: number, windowMs: number): FaultRule[] {
  const rules: FaultRule[] = [];
  let n = 0;
  for (const id of FAULT_IDS) {
    const fault = FAULTS[id];
    for (const provider of fault.providers) {
      const windowed = n++ % 3 === 0;
      rules.push({
        id: `${id}@${provider}`,
        fault: id,
        // Short Retry-After: the router must still obey it, but the soak should not be about waiting.
        ...(id === 'rate_limit' ? { params: { retryAfterMs: 200 } } : {}),
        target: {
          provider,
          ...(fault.stream === 'any' ? {} : { stream: fault.stream === 'stream' }),
        },
        injection: {
          rate,
          ...(windowed
            ? { window: { fromMs: (n % 2) * windowMs, toMs: (n % 2) * windowMs + windowMs } }
            : {}),
        },
      });
    }
  }
  return rules;
}

export interface ConfigOptions {
  baseURL: string;
  timeouts: { headersMs: number; firstTokenMs: number; idleMs: number; attemptMs: number; totalMs: number };
  retry: { baseDelayMs: number; maxDelayMs: number };
  hedgeDelayMs: number;
  budgetUsd: number;
  breakerOpenMs: number;
}

/** OpenAI first, Anthropic then Ollama as fallbacks; retries, breaker, hedging, budget and cache on. */
export function soakConfig(o: ConfigOptions): RouterConfigInput {
  return {
    deployments: [
      {
        id: 'openai',
        provider: 'openai',
        model: MODELS.openai,
        baseURL: `${o.baseURL}/v1`,
        apiKey: { env: 'OPENAI_API_KEY' },
      },
      {
        id: 'anthropic',
        provider: 'anthropic',
        model: MODELS.anthropic,
        baseURL: o.baseURL,
        apiKey: { env: 'ANTHROPIC_API_KEY' },
      },
      { id: 'ollama', provider: 'ollama', model: MODELS.ollama, baseURL: o.baseURL },
    ],
    routes: [{ name: 'chat', deployments: ['openai'], fallbacks: ['anthropic', 'ollama'] }],
    policies: {
      retry: {
        maxAttempts: 3,
        ...o.retry,
        retryAfterCapMs: 1_000,
        budget: { ratio: 0.3, minRetriesPerSecond: 20, windowMs: 5_000 },
      },
      timeouts: o.timeouts,
      breaker: { enabled: true, mode: 'consecutive', consecutiveFailures: 5, openMs: o.breakerOpenMs },
      hedge: { enabled: true, delay: o.hedgeDelayMs, maxHedges: 1 },
    },
    budgets: [{ tenant: '*', period: 'hour', limitUsd: o.budgetUsd }],
    cache: { enabled: true, ttlMs: 60_000 },
  };
}

export const TENANTS = ['acme', 'globex', 'initech'] as const;

/** A deterministic mix: 30% streams, 10% JSON mode, prompts from a pool of 1,000 (some cache hits and coalescing). */
export function requestMix(count: number, seed: number): Array<{ request: ChatRequest; stream: boolean }> {
  const next = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => {
    const stream = next() < 0.3;
    const json = !stream && next() < 0.1;
    return {
      stream,
      request: {
        model: 'chat',
        tenant: TENANTS[i % TENANTS.length]!,
        maxOutputTokens: 48,
        messages: [
          { role: 'user', content: `Soak prompt number ${Math.floor(next() * 1_000)}: say something.` },
        ],
        ...(json ? { responseFormat: 'json' as const } : {}),
      },
    };
  });
}

export type Settled = { ok: true } | { ok: false; kind: string } | { ok: false; untyped: string };

/** One call consumed the way a caller would; resolves with its outcome, never rejects. */
export async function callOnce(router: Router, request: ChatRequest, stream: boolean): Promise<Settled> {
  try {
    if (!stream) {
      await router.complete(request);
      return { ok: true };
    }
    for await (const event of router.stream(request)) {
      if (event.type === 'done') return { ok: true };
      if (event.type === 'error') {
        return isSwitchyardError(event.error)
          ? { ok: false, kind: event.error.kind }
          : { ok: false, untyped: String(event.error) };
      }
    }
    return { ok: false, untyped: 'stream ended without done or error' };
  } catch (error) {
    return isSwitchyardError(error) ? { ok: false, kind: error.kind } : { ok: false, untyped: String(error) };
  }
}

/** Active libuv resources by type (timers and sockets are what a leak would show up as). */
export function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}
