/**
 * The comparison engine: one prompt, one router stream per column, live text, and per column the
 * metrics and the decision trace. It knows nothing of VS Code (unit-tested under plain Node).
 *
 * Columns whose provider has no key (or all of them, by setting) talk to the built-in simulator
 * in-process, exactly as core/examples/route-through-stand-in.ts does: the router's `fetch` is the
 * chaos handler, whose upstream is the simulator for simulated hosts and the real fetch for live
 * ones, so the chaos toggle works the same on both.
 */
import {
  type DecisionTrace,
  type DeploymentConfig,
  RealClock,
  Router,
  type RouterConfigInput,
} from '@switchyard/core';
import {
  chaosFetch,
  createChaos,
  createSimulator,
  type FaultRule,
  isFaultId,
  SIMULATED_API_KEY,
} from '@switchyard/core/faults';
import { attemptViews } from '../shared/format.ts';
import {
  type ChaosProfile,
  type ColumnSpec,
  type ColumnState,
  PROVIDER_NAMES,
  type PromptInfo,
  type ProviderName,
} from '../shared/protocol.ts';

export interface ModelSetting {
  id: string;
  provider: ProviderName;
  model: string;
  baseURL?: string;
  /** Deployment ids tried after this one; default: the other compared models, in order. */
  fallbacks?: string[];
}

export type SimulationMode = 'auto' | 'always' | 'never';

export interface CompareSettings {
  models: ModelSetting[];
  simulation: SimulationMode;
  fallbackToOtherModels: boolean;
  /** Attempts per deployment, first one included. */
  maxAttempts: number;
  /** Ollama needs no key: it is live only when asked for. */
  ollamaLive: boolean;
  baseURLs: Partial<Record<ProviderName, string>>;
  maxOutputTokens: number;
}

/** Keys by provider, read from SecretStorage by the caller; only presence and the SDK see them. */
export type ProviderKeys = Partial<Record<ProviderName, string>>;

export const SIMULATOR_ORIGIN = 'http://simulator.switchyard.invalid';

export const DEFAULT_MODELS: ModelSetting[] = [
  { id: 'openai/gpt-4.1', provider: 'openai', model: 'gpt-4.1' },
  { id: 'anthropic/claude-sonnet-4-6', provider: 'anthropic', model: 'claude-sonnet-4-6' },
  { id: 'ollama/llama3.2', provider: 'ollama', model: 'llama3.2:latest' },
];

export function isSimulated(provider: ProviderName, settings: CompareSettings, keys: ProviderKeys): boolean {
  if (settings.simulation === 'always') return true;
  if (settings.simulation === 'never') return false;
  if (provider === 'ollama') return !settings.ollamaLive;
  return !keys[provider];
}

/** Resolves the ids to compare into columns; `provider/model` ids not in the settings are accepted as they are. */
export function planColumns(
  ids: readonly string[] | undefined,
  settings: CompareSettings,
  keys: ProviderKeys,
): { columns: ColumnSpec[]; models: ModelSetting[]; problems: string[] } {
  const problems: string[] = [];
  const models: ModelSetting[] = [];
  for (const id of ids ?? settings.models.map((m) => m.id)) {
    const known = settings.models.find((m) => m.id === id);
    if (known) {
      models.push(known);
      continue;
    }
    const [provider, ...rest] = id.split('/');
    if (PROVIDER_NAMES.includes(provider as ProviderName) && rest.length > 0) {
      models.push({ id, provider: provider as ProviderName, model: rest.join('/') });
    } else {
      problems.push(`unknown model "${id}": add it to switchyard.models or write it as provider/model`);
    }
  }
  const unique = models.filter((m, i) => models.findIndex((o) => o.id === m.id) === i);
  return {
    models: unique,
    columns: unique.map((m) => ({
      id: m.id,
      provider: m.provider,
      model: m.model,
      simulated: isSimulated(m.provider, settings, keys),
    })),
    problems,
  };
}

export function faultRules(chaos: ChaosProfile | undefined): FaultRule[] {
  if (!chaos) return [];
  if (!isFaultId(chaos.fault)) throw new Error(`unknown fault "${chaos.fault}" (not in the fault catalogue)`);
  return [
    {
      id: `toggle-${chaos.fault}`,
      fault: chaos.fault,
      ...(chaos.provider !== 'all' ? { target: { provider: chaos.provider } } : {}),
      injection: { rate: chaos.rate },
    },
  ];
}

function simulatedBaseURL(provider: ProviderName): string {
  return provider === 'openai' || provider === 'openai-compatible'
    ? `${SIMULATOR_ORIGIN}/v1`
    : SIMULATOR_ORIGIN;
}

/** The router config of one comparison: every model a deployment, every column its own route. */
export function routerConfigFor(
  models: readonly ModelSetting[],
  columns: readonly ColumnSpec[],
  settings: CompareSettings,
): RouterConfigInput {
  const deployments: DeploymentConfig[] = models.map((m) => {
    const simulated = columns.find((c) => c.id === m.id)?.simulated ?? true;
    const baseURL = simulated ? simulatedBaseURL(m.provider) : (m.baseURL ?? settings.baseURLs[m.provider]);
    const needsKey = m.provider !== 'ollama';
    return {
      id: m.id,
      provider: m.provider,
      model: m.model,
      ...(baseURL ? { baseURL } : {}),
      ...(needsKey ? { apiKey: { secret: simulated ? 'simulated' : m.provider } } : {}),
      weight: 1,
      tags: [],
    } as DeploymentConfig;
  });
  const ids = models.map((m) => m.id);
  return {
    deployments,
    routes: models.map((m) => ({
      name: routeName(m.id),
      deployments: [m.id],
      fallbacks: (
        m.fallbacks ?? (settings.fallbackToOtherModels ? ids.filter((id) => id !== m.id) : [])
      ).filter((id) => ids.includes(id)),
    })),
    policies: {
      retry: {
        maxAttempts: settings.maxAttempts,
        baseDelayMs: 200,
        maxDelayMs: 2_000,
        retryAfterCapMs: 5_000,
      },
      timeouts: {
        headersMs: 30_000,
        firstTokenMs: 30_000,
        idleMs: 30_000,
        attemptMs: 120_000,
        totalMs: 180_000,
      },
      // A comparison is a handful of calls: a breaker would only hide the columns' own failures.
      breaker: { enabled: false },
    },
    cache: { enabled: false },
  } as RouterConfigInput;
}

export function routeName(deploymentId: string): string {
  return `compare:${deploymentId}`;
}

export interface CompareRequest {
  columns: readonly ColumnSpec[];
  models: readonly ModelSetting[];
  /** Columns to run (default all): a rerun of one column still routes through the others as fallbacks. */
  only?: readonly string[];
  prompt: PromptInfo;
  chaos?: ChaosProfile;
  settings: CompareSettings;
  keys: ProviderKeys;
  signal?: AbortSignal;
  /** Per-column cancellation on top of `signal`. */
  columnSignal?: (column: string) => AbortSignal | undefined;
  onStart?: (column: string) => void;
  onDelta?: (column: string, text: string) => void;
  onFinish?: (column: string, result: ColumnState) => void;
  log?: (line: string) => void;
  /** Seed of the simulator and the chaos engine (default: time-based). */
  seed?: number;
  /** fetch for live calls (default globalThis.fetch). */
  liveFetch?: typeof fetch;
}

/** Runs the comparison; resolves with every column's final state once all are done. */
export async function runComparison(request: CompareRequest): Promise<ColumnState[]> {
  const clock = new RealClock();
  const seed = request.seed ?? Date.now() % 2_147_483_647;
  const simulator = createSimulator({ clock, seed });
  const live =
    request.liveFetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const chaos = createChaos({
    clock,
    seed,
    rules: faultRules(request.chaos),
    upstream: (req) => (req.url.startsWith(SIMULATOR_ORIGIN) ? simulator.handle(req) : live(req)),
  });
  const router = new Router({
    clock,
    config: routerConfigFor(request.models, request.columns, request.settings),
    fetch: chaosFetch(chaos),
    env: {},
    secrets: (name) => (name === 'simulated' ? SIMULATED_API_KEY : request.keys[name as ProviderName]),
  });
  const traces = new Map<string, DecisionTrace>();
  const unsubscribe = router.onTrace((trace) => traces.set(trace.route, structuredClone(trace)));
  const wanted = request.columns.filter((c) => !request.only || request.only.includes(c.id));
  try {
    return await Promise.all(wanted.map((column) => runColumn(router, column, request, traces)));
  } finally {
    unsubscribe();
  }
}

async function runColumn(
  router: Router,
  column: ColumnSpec,
  request: CompareRequest,
  traces: Map<string, DecisionTrace>,
): Promise<ColumnState> {
  const signals = [request.signal, request.columnSignal?.(column.id)].filter((s): s is AbortSignal => !!s);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  const { prompt } = request;
  const state: ColumnState = { spec: column, status: 'streaming', text: '', attempts: [] };
  request.onStart?.(column.id);
  const route = routeName(column.id);
  try {
    const stream = router.stream(
      {
        model: route,
        messages: [
          ...(prompt.system ? [{ role: 'system' as const, content: prompt.system }] : []),
          { role: 'user' as const, content: prompt.text },
        ],
        ...(prompt.temperature !== undefined ? { temperature: prompt.temperature } : {}),
        maxOutputTokens: prompt.maxOutputTokens ?? request.settings.maxOutputTokens,
        tags: ['vscode-compare'],
      },
      signal ? { signal } : {},
    );
    for await (const event of stream) {
      if (event.type === 'text-delta') {
        state.text += event.text;
        request.onDelta?.(column.id, event.text);
      } else if (event.type === 'done') {
        const r = event.response;
        Object.assign(state, {
          status: 'done',
          servedBy: r.deployment,
          latencyMs: r.latencyMs,
          ttftMs: r.ttftMs,
          inputTokens: r.usage.inputTokens,
          outputTokens: r.usage.outputTokens,
          costUsd: r.costUsd,
          finishReason: r.finishReason,
        });
      } else if (event.type === 'error') {
        const cancelled = event.error.kind === 'cancelled' || signal?.aborted;
        state.status = cancelled ? 'cancelled' : 'failed';
        state.error = `${event.error.kind}: ${event.error.message}`;
      }
    }
  } catch (error) {
    state.status = signal?.aborted ? 'cancelled' : 'failed';
    state.error = error instanceof Error ? error.message : String(error);
  }
  const trace = traces.get(route);
  if (trace) {
    state.attempts = attemptViews(trace);
    state.trace = trace;
    // Every attempt's cost counts, the failed partial ones too: that is what the session spent.
    state.costUsd = trace.costUsd;
    if (state.latencyMs === undefined && trace.endedAt !== undefined)
      state.latencyMs = trace.endedAt - trace.startedAt;
  }
  if (state.status === 'streaming') {
    state.status = 'failed';
    state.error ??= 'the stream ended without an answer';
  }
  request.log?.(
    `${column.id}${column.simulated ? ' (simulated)' : ''}: ${state.status}` +
      `${state.servedBy ? ` via ${state.servedBy}` : ''}${state.error ? ` — ${state.error}` : ''}`,
  );
  request.onFinish?.(column.id, state);
  return state;
}
