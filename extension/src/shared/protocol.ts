/**
 * The typed message protocol between the extension host and the compare webview. Both sides import
 * this one module (the host bundle and the webview bundle), so a message that one side sends and the
 * other does not understand is a type error, not a silent no-op. It holds no vscode import and no DOM
 * use: it is plain data plus a pure reducer, unit-tested without VS Code.
 *
 * Nothing here ever carries an API key: columns say whether they are simulated, never with what key.
 */

export const PROTOCOL_VERSION = 1;

export const PROVIDER_NAMES = ['openai', 'anthropic', 'ollama', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** One column of a comparison: the model asked for first (its fallbacks may answer instead). */
export interface ColumnSpec {
  /** Deployment id, e.g. `openai/gpt-4.1`. */
  id: string;
  provider: ProviderName;
  model: string;
  /** True when the column talks to the in-process simulator instead of the live provider. */
  simulated: boolean;
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

export interface ColumnState {
  spec: ColumnSpec;
  status: ColumnStatus;
  text: string;
  /** Deployment that produced the answer (differs from spec.id after a fallback). */
  servedBy?: string;
  latencyMs?: number;
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Every attempt's cost, winners and losers. */
  costUsd?: number;
  finishReason?: string;
  error?: string;
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
  prompt: PromptInfo;
  chaos?: ChaosProfile;
  columns: ColumnState[];
  finished: boolean;
}

export interface RunSummary {
  runId: string;
  startedAt: number;
  title: string;
  chaos?: ChaosProfile;
  costUsd: number;
  failed: number;
  columns: number;
}

export interface PanelState {
  version: typeof PROTOCOL_VERSION;
  current?: RunState;
  history: RunSummary[];
  faults: FaultChoice[];
}

export type HostMessage =
  | { type: 'state'; state: PanelState }
  | { type: 'run-started'; run: RunState }
  | { type: 'column-reset'; runId: string; column: string }
  | { type: 'column-delta'; runId: string; column: string; text: string }
  | { type: 'column-finished'; runId: string; column: string; result: ColumnState }
  | { type: 'run-finished'; runId: string; summary: RunSummary };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'cancel'; column?: string }
  | { type: 'rerun'; column?: string; chaos?: ChaosProfile | null }
  | { type: 'copy'; column?: string }
  | { type: 'export'; format: 'markdown' | 'json' }
  | { type: 'show-run'; runId: string }
  | { type: 'open-source' };

export function emptyPanelState(faults: FaultChoice[] = []): PanelState {
  return { version: PROTOCOL_VERSION, history: [], faults };
}

/** Applies a host message to the panel state (the webview renders from it; the host keeps a copy). */
export function applyHostMessage(state: PanelState, message: HostMessage): PanelState {
  switch (message.type) {
    case 'state':
      return message.state;
    case 'run-started':
      return { ...state, current: message.run };
    case 'column-reset':
    case 'column-delta':
    case 'column-finished': {
      const run = state.current;
      if (!run || run.runId !== message.runId) return state;
      const columns = run.columns.map((c) => {
        if (c.spec.id !== message.column) return c;
        if (message.type === 'column-reset')
          return { spec: c.spec, status: 'pending' as const, text: '', attempts: [] };
        if (message.type === 'column-delta')
          return { ...c, status: 'streaming' as const, text: c.text + message.text };
        return message.result;
      });
      return { ...state, current: { ...run, columns, finished: false } };
    }
    case 'run-finished': {
      const run = state.current;
      const history = [message.summary, ...state.history.filter((h) => h.runId !== message.summary.runId)];
      if (!run || run.runId !== message.runId) return { ...state, history };
      return { ...state, current: { ...run, finished: true }, history };
    }
  }
}

/** Narrows unknown data from postMessage to a WebviewMessage (the host never trusts the webview blindly). */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  const optString = (v: unknown) => v === undefined || typeof v === 'string';
  switch (m.type) {
    case 'ready':
    case 'open-source':
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
    default:
      return false;
  }
}

export function isChaosProfile(value: unknown): value is ChaosProfile {
  if (!value || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.fault === 'string' &&
    ['all', 'openai', 'anthropic', 'ollama'].includes(c.provider as string) &&
    typeof c.rate === 'number' &&
    c.rate >= 0 &&
    c.rate <= 1
  );
}
