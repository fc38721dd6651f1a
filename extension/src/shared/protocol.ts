/**
 * The typed message protocol between the extension host and the compare webview. Both sides import
 * this one module (the host bundle and the webview bundle), so a message that one side sends and the
 * other does not understand is a type error, not a silent no-op. It holds no vscode import and no DOM
 * use: it is plain data plus a pure reducer, unit-tested without VS Code.
 *
 * Nothing here ever carries an API key: columns say whether they are simulated, never with what key.
 */

/** 2: per-column parameters, the fallback toggle, structured column errors, labels, the catalogue. */
export const PROTOCOL_VERSION = 2;

export const PROVIDER_NAMES = ['openai', 'anthropic', 'ollama', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export const PROVIDER_LABELS: Record<ProviderName, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  ollama: 'Ollama',
  'openai-compatible': 'OpenAI-compatible',
};

/** A column's own request parameters, over the prompt's; kept with the comparison (history, saved files). */
export interface ColumnParams {
  system?: string;
  /** 0..2. */
  temperature?: number;
  /** A positive whole number. */
  maxOutputTokens?: number;
}

/** One column of a comparison: the model it asks (with the fallback toggle on, another may answer). */
export interface ColumnSpec {
  /** Deployment id, e.g. `openai/gpt-4.1`. */
  id: string;
  provider: ProviderName;
  model: string;
  /** True when the column talks to the in-process simulator instead of the live provider. */
  simulated: boolean;
  params?: ColumnParams;
}

/** A fault profile for the chaos toggle: one fault from the catalogue on one provider (or all). */
export interface ChaosProfile {
  fault: string;
  provider: 'all' | 'openai' | 'anthropic' | 'ollama';
  /** Probability 0..1 per matching call. */
  rate: number;
}

export interface FaultChoice {
  id: string;
  description: string;
  category: string;
}

/** One attempt of the decision trace, reduced to what the timeline shows. */
export interface AttemptView {
  n: number;
  deployment: string;
  outcome: 'success' | 'error' | 'aborted';
  status?: number;
  errorKind?: string;
  ms: number;
  waitedMs?: number;
  delayReason?: string;
  next?: string;
  hedge?: boolean;
  costUsd: number;
}

export type ColumnStatus = 'pending' | 'streaming' | 'done' | 'failed' | 'cancelled';

/** Why a column failed: its own model's error (not a fallback's), as data. */
export interface ColumnError {
  /** The deployment whose failure this is: the column's own model whenever it was tried. */
  deployment: string;
  /** Error kind (core's taxonomy), e.g. `auth`, `not_found`, `cancelled`. */
  kind: string;
  status?: number;
  message: string;
}

export interface ColumnState {
  spec: ColumnSpec;
  status: ColumnStatus;
  text: string;
  /** Deployment that produced the answer (differs from spec.id only after a fallback). */
  servedBy?: string;
  /** Whether the deployment that answered is simulated (a fallback can be, when the column is live). */
  servedSimulated?: boolean;
  latencyMs?: number;
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Every attempt's cost, winners and losers. */
  costUsd?: number;
  finishReason?: string;
  /** The column's own model's error: set when it failed, also when a fallback answered instead. */
  error?: ColumnError;
  attempts: AttemptView[];
  /** The full decision trace (no content, no keys), for the expandable view and the JSON export. */
  trace?: unknown;
}

export interface PromptInfo {
  title: string;
  text: string;
  system?: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** Where it came from, to jump back and to attach the CodeLens hint. */
  source?: { uri: string; promptIndex: number; line: number };
}

export interface RunState {
  runId: string;
  startedAt: number;
  /** When the last column settled (host clock), for the totals row. */
  finishedAt?: number;
  /** A name the user gave the run (history search finds it). */
  label?: string;
  prompt: PromptInfo;
  chaos?: ChaosProfile;
  /** Whether a failing column could be answered by another compared model (the panel's toggle). */
  fallback: boolean;
  columns: ColumnState[];
  finished: boolean;
}

export interface RunSummary {
  runId: string;
  startedAt: number;
  title: string;
  label?: string;
  /** Column ids, for the history search. */
  models: string[];
  chaos?: ChaosProfile;
  fallback: boolean;
  costUsd: number;
  failed: number;
  columns: number;
}

/** A model the picker offers, from the provider's live `models.list` or the simulator's catalogue. */
export interface CatalogueEntry {
  /** `provider/model`, the id a column and a prompt file use. */
  id: string;
  provider: ProviderName;
  model: string;
  source: 'live' | 'simulator';
}

export interface Catalogue {
  entries: CatalogueEntry[];
  /** One line per provider whose live list could not be read (the simulator's stands in), or empty. */
  notes: string[];
  loading: boolean;
}

export interface PanelState {
  version: typeof PROTOCOL_VERSION;
  current?: RunState;
  history: RunSummary[];
  faults: FaultChoice[];
  /** The panel's routing toggle: whether the next run lets other models answer a failing column. */
  fallback: boolean;
  catalogue: Catalogue;
}

export type HostMessage =
  | { type: 'state'; state: PanelState }
  | { type: 'run-started'; run: RunState }
  | { type: 'column-reset'; runId: string; column: string }
  | { type: 'column-delta'; runId: string; column: string; text: string }
  | { type: 'column-finished'; runId: string; column: string; result: ColumnState }
  | { type: 'column-added'; runId: string; column: ColumnState }
  | { type: 'column-removed'; runId: string; column: string }
  | { type: 'column-params'; runId: string; column: string; params: ColumnParams }
  | { type: 'run-finished'; runId: string; summary: RunSummary; finishedAt: number }
  | { type: 'run-labelled'; runId: string; label: string }
  | { type: 'history'; history: RunSummary[] }
  | { type: 'fallback'; fallback: boolean }
  | { type: 'catalogue'; catalogue: Catalogue };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'cancel'; column?: string }
  | { type: 'rerun'; column?: string; chaos?: ChaosProfile | null }
  | { type: 'copy'; column?: string }
  | { type: 'export'; format: 'markdown' | 'json' }
  | { type: 'show-run'; runId: string }
  | { type: 'open-source' }
  | { type: 'set-fallback'; fallback: boolean }
  | { type: 'set-params'; column: string; params: ColumnParams }
  | { type: 'add-model'; id: string }
  | { type: 'remove-model'; column: string }
  | { type: 'label'; runId: string; label: string }
  | { type: 'save' }
  | { type: 'refresh-catalogue' };

export const EMPTY_CATALOGUE: Catalogue = { entries: [], notes: [], loading: false };

export function emptyPanelState(faults: FaultChoice[] = [], fallback = false): PanelState {
  return { version: PROTOCOL_VERSION, history: [], faults, fallback, catalogue: EMPTY_CATALOGUE };
}

export function pendingColumn(spec: ColumnSpec): ColumnState {
  return { spec, status: 'pending', text: '', attempts: [] };
}

/** Applies a host message to the panel state (the webview renders from it; the host keeps a copy). */
export function applyHostMessage(state: PanelState, message: HostMessage): PanelState {
  switch (message.type) {
    case 'state':
      return message.state;
    case 'run-started':
      return { ...state, current: message.run };
    case 'fallback':
      return { ...state, fallback: message.fallback };
    case 'history':
      return { ...state, history: message.history };
    case 'catalogue':
      return { ...state, catalogue: message.catalogue };
    case 'run-labelled': {
      const history = state.history.map((h) => (h.runId === message.runId ? withLabel(h, message.label) : h));
      const run = state.current;
      const current = run && run.runId === message.runId ? withLabel(run, message.label) : run;
      return { ...state, history, ...(current ? { current } : {}) };
    }
    case 'column-added': {
      const run = state.current;
      if (!run || run.runId !== message.runId) return state;
      const columns = [...run.columns.filter((c) => c.spec.id !== message.column.spec.id), message.column];
      return { ...state, current: { ...run, columns, finished: false } };
    }
    case 'column-removed': {
      const run = state.current;
      if (!run || run.runId !== message.runId) return state;
      return {
        ...state,
        current: { ...run, columns: run.columns.filter((c) => c.spec.id !== message.column) },
      };
    }
    case 'column-reset':
    case 'column-delta':
    case 'column-finished':
    case 'column-params': {
      const run = state.current;
      if (!run || run.runId !== message.runId) return state;
      const columns = run.columns.map((c) => {
        if (c.spec.id !== message.column) return c;
        if (message.type === 'column-params') return { ...c, spec: withParams(c.spec, message.params) };
        if (message.type === 'column-reset') return pendingColumn(c.spec);
        if (message.type === 'column-delta')
          return { ...c, status: 'streaming' as const, text: c.text + message.text };
        return message.result;
      });
      const finished = message.type === 'column-params' ? run.finished : false;
      return { ...state, current: { ...run, columns, finished } };
    }
    case 'run-finished': {
      const run = state.current;
      const history = [message.summary, ...state.history.filter((h) => h.runId !== message.summary.runId)];
      if (!run || run.runId !== message.runId) return { ...state, history };
      return { ...state, current: { ...run, finished: true, finishedAt: message.finishedAt }, history };
    }
  }
}

function withLabel<T extends { label?: string }>(item: T, label: string): T {
  const { label: _old, ...rest } = item;
  return (label ? { ...rest, label } : rest) as T;
}

/** Parameters without the empty ones, so "no override" is no key at all. */
export function normalizeParams(params: ColumnParams): ColumnParams {
  return {
    ...(params.system?.trim() ? { system: params.system } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.maxOutputTokens !== undefined ? { maxOutputTokens: params.maxOutputTokens } : {}),
  };
}

/** The spec with these parameters (none: no `params` key). */
export function withParams(spec: ColumnSpec, params: ColumnParams): ColumnSpec {
  const { params: _old, ...rest } = spec;
  const kept = normalizeParams(params);
  return Object.keys(kept).length > 0 ? { ...rest, params: kept } : rest;
}

const CHAOS_PROVIDERS = ['all', 'openai', 'anthropic', 'ollama'];
const MAX_LABEL = 200;
const MAX_SYSTEM = 20_000;

/** Narrows unknown data from postMessage to a WebviewMessage (the host never trusts the webview blindly). */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  const optString = (v: unknown) => v === undefined || typeof v === 'string';
  const id = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 300;
  switch (m.type) {
    case 'ready':
    case 'open-source':
    case 'save':
    case 'refresh-catalogue':
      return true;
    case 'cancel':
    case 'copy':
      return optString(m.column);
    case 'rerun':
      return optString(m.column) && (m.chaos === undefined || m.chaos === null || isChaosProfile(m.chaos));
    case 'export':
      return m.format === 'markdown' || m.format === 'json';
    case 'show-run':
      return typeof m.runId === 'string';
    case 'set-fallback':
      return typeof m.fallback === 'boolean';
    case 'set-params':
      return id(m.column) && isColumnParams(m.params);
    case 'add-model':
      return id(m.id);
    case 'remove-model':
      return id(m.column);
    case 'label':
      return typeof m.runId === 'string' && typeof m.label === 'string' && m.label.length <= MAX_LABEL;
    default:
      return false;
  }
}

export function isChaosProfile(value: unknown): value is ChaosProfile {
  if (!value || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.fault === 'string' &&
    CHAOS_PROVIDERS.includes(c.provider as string) &&
    typeof c.rate === 'number' &&
    c.rate >= 0 &&
    c.rate <= 1
  );
}

/** Why a value is not valid column parameters, or undefined when it is (field named, for messages). */
export function columnParamsProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'expected an object';
  const p = value as Record<string, unknown>;
  for (const key of Object.keys(p))
    if (!['system', 'temperature', 'maxOutputTokens'].includes(key))
      return `${key}: unknown parameter (known: system, temperature, maxOutputTokens)`;
  if (p.system !== undefined && (typeof p.system !== 'string' || p.system.length > MAX_SYSTEM))
    return `system: expected text of at most ${MAX_SYSTEM} characters`;
  if (
    p.temperature !== undefined &&
    (typeof p.temperature !== 'number' || !(p.temperature >= 0 && p.temperature <= 2))
  )
    return 'temperature: expected a number from 0 to 2';
  if (
    p.maxOutputTokens !== undefined &&
    (typeof p.maxOutputTokens !== 'number' ||
      !Number.isInteger(p.maxOutputTokens) ||
      p.maxOutputTokens < 1 ||
      p.maxOutputTokens > 1_000_000)
  )
    return 'maxOutputTokens: expected a whole number from 1 to 1000000';
  return undefined;
}

export function isColumnParams(value: unknown): value is ColumnParams {
  return columnParamsProblem(value) === undefined;
}
