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
  type ColumnError,
  type ColumnParams,
  type ColumnSpec,
  type ColumnState,
  PROVIDER_NAMES,
  type PromptInfo,
  type ProviderName,
  withParams,
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
  /** The panel's fallback toggle starts from this (off: each column answers with its own model). */
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

/**
 * The model a column id names: one of the `switchyard.models` settings, or any `provider/model` id
 * (a model the settings do not list yet); undefined when it is neither.
 */
export function resolveModel(
  id: string,
  settings: Pick<CompareSettings, 'models'>,
): ModelSetting | undefined {
  const known = settings.models.find((m) => m.id === id);
  if (known) return known;
  const [provider, ...rest] = id.split('/');
  if (PROVIDER_NAMES.includes(provider as ProviderName) && rest.length > 0 && rest.join('/').trim())
    return { id, provider: provider as ProviderName, model: rest.join('/') };
  return undefined;
}

export function unknownModelProblem(id: string): string {
  return `unknown model "${id}": pick one from the catalogue, add it to switchyard.models, or write it as provider/model`;
}

/** Resolves the ids to compare into columns (with their own parameters, when given). */
export function planColumns(
  ids: readonly string[] | undefined,
  settings: CompareSettings,
  keys: ProviderKeys,
  params: Readonly<Record<string, ColumnParams | undefined>> = {},
): { columns: ColumnSpec[]; models: ModelSetting[]; problems: string[] } {
  const problems: string[] = [];
  const models: ModelSetting[] = [];
  for (const id of ids ?? settings.models.map((m) => m.id)) {
    const model = resolveModel(id, settings);
    if (model) models.push(model);
    else problems.push(unknownModelProblem(id));
  }
  const unique = models.filter((m, i) => models.findIndex((o) => o.id === m.id) === i);
  return {
    models: unique,
    columns: unique.map((m) =>
      withParams(
        {
          id: m.id,
          provider: m.provider,
          model: m.model,
          simulated: isSimulated(m.provider, settings, keys),
        },
        params[m.id] ?? {},
      ),
    ),
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

/**
 * The router config of one comparison: every model a deployment, every column its own route. With
 * `fallback` off (the default) a column's route holds its own model only, so it answers itself or
 * fails with its own error; with it on, the other compared models follow as fallbacks.
 */
export function routerConfigFor(
  models: readonly ModelSetting[],
  columns: readonly ColumnSpec[],
  settings: CompareSettings,
  fallback: boolean,
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
      fallbacks: fallback
        ? (m.fallbacks ?? ids.filter((id) => id !== m.id)).filter((id) => ids.includes(id))
        : [],
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
  /** Let the other compared models answer a failing column (the panel's toggle). */
  fallback: boolean;
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
    config: routerConfigFor(request.models, request.columns, request.settings, request.fallback),
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
  // The column's own parameters win over the prompt's (front matter), which win over the settings.
  const system = column.params?.system ?? prompt.system;
  const temperature = column.params?.temperature ?? prompt.temperature;
  const state: ColumnState = { spec: column, status: 'streaming', text: '', attempts: [] };
  let finalError: ColumnError | undefined;
  request.onStart?.(column.id);
  const route = routeName(column.id);
  try {
    const stream = router.stream(
      {
        model: route,
        messages: [
          ...(system ? [{ role: 'system' as const, content: system }] : []),
          { role: 'user' as const, content: prompt.text },
        ],
        ...(temperature !== undefined ? { temperature } : {}),
        maxOutputTokens:
          column.params?.maxOutputTokens ?? prompt.maxOutputTokens ?? request.settings.maxOutputTokens,
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
          servedSimulated: request.columns.find((c) => c.id === r.deployment)?.simulated ?? column.simulated,
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
        finalError = {
          deployment: event.error.deployment ?? column.id,
          kind: cancelled ? 'cancelled' : event.error.kind,
          ...(event.error.status !== undefined ? { status: event.error.status } : {}),
          message: event.error.message,
        };
      }
    }
  } catch (error) {
    state.status = signal?.aborted ? 'cancelled' : 'failed';
    finalError = {
      deployment: column.id,
      kind: signal?.aborted ? 'cancelled' : 'error',
      message: error instanceof Error ? error.message : String(error),
    };
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
    finalError ??= { deployment: column.id, kind: 'error', message: 'the stream ended without an answer' };
  }
  // The column shows its own model's failure, never the last fallback's (a cancel is the cancel); a
  // model that answered after a retry has no error to show.
  const answered = state.status === 'done' && state.servedBy === column.id;
  const own = state.status === 'cancelled' || answered ? undefined : trace && ownError(trace, column.id);
  const error = own ?? (state.status === 'done' ? undefined : finalError);
  if (error) state.error = error;
  request.log?.(
    `${column.id}${column.simulated ? ' (simulated)' : ''}: ${state.status}` +
      `${state.servedBy ? ` via ${state.servedBy}` : ''}${error ? ` — ${error.kind}: ${error.message}` : ''}`,
  );
  request.onFinish?.(column.id, state);
  return state;
}

/** The last failure of the column's own model in its trace (its own error, whatever came after). */
export function ownError(
  trace: Pick<DecisionTrace, 'attempts'>,
  deployment: string,
): ColumnError | undefined {
  const attempt = trace.attempts.findLast((a) => a.deployment === deployment && a.outcome === 'error');
  if (!attempt) return undefined;
  const message = attempt.error?.message;
  return {
    deployment,
    kind: attempt.errorKind ?? 'error',
    ...(attempt.status !== undefined ? { status: attempt.status } : {}),
    message: typeof message === 'string' ? message : (attempt.errorKind ?? 'error'),
  };
}
