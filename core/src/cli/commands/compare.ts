import type { Command } from 'commander';
import { RealClock } from '../../runtime/clock.ts';
import { ConfigError } from '../../runtime/config/errors.ts';
import type { RouterConfig, RouterConfigInput } from '../../runtime/config/schema.ts';
import { isSwitchyardError } from '../../runtime/errors.ts';
import type { Router } from '../../runtime/router.ts';
import { type DecisionTrace, formatPath } from '../../runtime/trace/trace.ts';
import type { ChatResponse } from '../../runtime/types.ts';
import { CliError, EXIT, formatMs, formatUsd, intOption, out, pad, paint } from '../shared/output.ts';

export const DEFAULT_MODELS = ['gpt-4.1', 'claude-sonnet-4-6', 'llama3.2:latest'];
/** Any key works for the simulator; a fixed fake one keeps real keys out of simulated runs. */

interface CompareOptions {
  prompt: string;
  models?: string;
  config?: string;
  maxTokens: number;
  json?: boolean;
}

export interface Column {
  model: string;
  ok: boolean;
  text: string;
  error?: string;
  latencyMs: number;
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd: number;
  finishReason?: string;
  deployment?: string;
  path: string;
}

/** `provider/model` or a bare model the simulator knows: a deployment against the simulator. */
function simulatedDeployment(
  name: string,
  BUILTIN_MODELS: Record<string, { provider: string }>,
): RouterConfigInput['deployments'][number] {
  const slash = name.indexOf('/');
  const model = slash >= 0 ? name.slice(slash + 1) : name;
  const provider = slash >= 0 ? name.slice(0, slash) : BUILTIN_MODELS[model]?.provider;
  if (provider !== 'openai' && provider !== 'anthropic' && provider !== 'ollama') {
    const known = Object.keys(BUILTIN_MODELS).join(', ');
    throw new CliError(
      `unknown model "${name}": write provider/model, or one of the simulated models: ${known}`,
    );
  }
  return {
    id: name,
    provider,
    model,
    baseURL:
      provider === 'ollama'
        ? 'http://simulator.local'
        : `http://simulator.local${provider === 'openai' ? '/v1' : ''}`,
    ...(provider === 'ollama' ? {} : { apiKey: { env: 'SIMULATED_KEY' } }),
  };
}

async function buildRouter(options: CompareOptions): Promise<{ router: Router; models: string[] }> {
  const [
    { BUILTIN_MODELS, chaosFetch, createSimulator, SIMULATED_API_KEY },
    { Router },
    { loadRouterConfig },
  ] = await Promise.all([
    import('../../faults/index.ts'),
    import('../../runtime/router.ts'),
    import('../../runtime/config/load.ts'),
  ]);
  const listed = options.models
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (options.config) {
    let config: RouterConfig;
    try {
      config = await loadRouterConfig(options.config, { env: process.env });
    } catch (error) {
      if (error instanceof ConfigError)
        throw new CliError(`invalid router config`, EXIT.badInput, error.issues);
      throw error;
    }
    // Live providers: keys come from the environment, as the config names them.
    const router = new Router({ config });
    return { router, models: listed ?? config.deployments.map((d) => d.id) };
  }
  const models = listed ?? DEFAULT_MODELS;
  const clock = new RealClock();
  const simulator = createSimulator({ clock, seed: 1 });
  const router = new Router({
    clock,
    config: { deployments: models.map((m) => simulatedDeployment(m, BUILTIN_MODELS)) },
    fetch: chaosFetch(simulator),
    env: { SIMULATED_KEY: SIMULATED_API_KEY },
  });
  return { router, models };
}

/** Streams the prompt to one model (a route or deployment id) and measures what the caller sees. */
async function runColumn(
  router: Router,
  model: string,
  options: CompareOptions,
  traces: Map<string, DecisionTrace>,
): Promise<Column> {
  const started = performance.now();
  let firstTokenAt: number | undefined;
  let text = '';
  let response: ChatResponse | undefined;
  let error: string | undefined;
  let traceId: string | undefined;
  try {
    for await (const event of router.stream({
      model,
      messages: [{ role: 'user', content: options.prompt }],
      maxOutputTokens: options.maxTokens,
    })) {
      if (event.type === 'text-delta') {
        firstTokenAt ??= performance.now();
        text += event.text;
      } else if (event.type === 'done') {
        response = event.response;
        traceId = event.response.traceId;
      } else if (event.type === 'error') {
        error = `${event.error.kind}: ${event.error.message}`;
        text = event.partialText || text;
      }
    }
  } catch (caught) {
    error = isSwitchyardError(caught) ? `${caught.kind}: ${caught.message}` : String(caught);
  }
  const latencyMs = performance.now() - started;
  const trace = traceId ? traces.get(traceId) : [...traces.values()].find((t) => t.route === model);
  return {
    model,
    ok: response !== undefined,
    text: response?.text ?? text,
    ...(error ? { error } : {}),
    latencyMs,
    ...(firstTokenAt !== undefined ? { ttftMs: firstTokenAt - started } : {}),
    ...(response
      ? { inputTokens: response.usage.inputTokens, outputTokens: response.usage.outputTokens }
      : {}),
    costUsd: response?.costUsd ?? trace?.costUsd ?? 0,
    ...(response ? { finishReason: response.finishReason, deployment: response.deployment } : {}),
    path: trace ? formatPath(trace) : '(no trace)',
  };
}

/** Wraps text to `width`, at most `lines` lines, the last one ending in … when cut. */
export function wrap(text: string, width: number, lines: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const result: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width) {
      line = candidate;
      continue;
    }
    if (line) result.push(line);
    line = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    if (result.length === lines) break;
  }
  if (line && result.length < lines) result.push(line);
  if (result.length > lines || (result.length === lines && result.join(' ').length < text.trim().length)) {
    result.length = lines;
    const last = result[lines - 1] ?? '';
    result[lines - 1] = `${last.slice(0, Math.max(0, width - 1))}…`;
  }
  return result;
}

/** The columns side by side, each as wide as the terminal allows. */
export function renderColumns(columns: Column[], terminalWidth: number): string {
  const gap = 3;
  const width = Math.max(20, Math.floor((terminalWidth - gap * (columns.length - 1)) / columns.length));
  const texts = columns.map((c) => wrap(c.text || '(no text)', width, 6));
  // Every column's text block gets the same height, so the facts below line up row by row.
  const textHeight = Math.max(...texts.map((t) => t.length));
  const cell = (c: Column, i: number): string[] => {
    const head = paint('bold', c.model);
    const status = c.ok ? paint('green', '✓ ok') : paint('red', `✗ ${c.error ?? 'failed'}`.slice(0, width));
    const text = texts[i]!;
    const facts = [
      `latency  ${formatMs(c.latencyMs)}`,
      `TTFT     ${c.ttftMs === undefined ? '—' : formatMs(c.ttftMs)}`,
      `tokens   ${c.inputTokens ?? '—'} in / ${c.outputTokens ?? '—'} out`,
      `cost     ${formatUsd(c.costUsd)}`,
      `finish   ${c.finishReason ?? '—'}`,
    ];
    return [
      head,
      status,
      '',
      ...text,
      ...Array.from({ length: textHeight - text.length }, () => ''),
      '',
      ...facts,
      ...wrap(`path: ${c.path}`, width, 3).map((l) => paint('dim', l)),
    ];
  };
  const cells = columns.map(cell);
  const height = Math.max(...cells.map((c) => c.length));
  const rows: string[] = [];
  for (let i = 0; i < height; i++)
    rows.push(
      cells
        .map((c) => pad(c[i] ?? '', width))
        .join(' '.repeat(gap))
        .trimEnd(),
    );
  return rows.join('\n');
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('Send one prompt to several models and show the answers side by side')
    .requiredOption('--prompt <text>', 'the prompt')
    .option(
      '--models <list>',
      `comma-separated models (simulated: ${DEFAULT_MODELS.join(',')}); with --config, routes or deployment ids`,
    )
    .option('--config <file>', "use this router config's live providers (keys from the environment)")
    .option('--max-tokens <n>', 'output token cap per model', intOption('--max-tokens', 1), 128)
    .option('--json', 'print the columns as JSON on stdout')
    .addHelpText(
      'after',
      '\nWithout --config the built-in simulator answers: no keys, no network, realistic latency and usage.',
    )
    .action(async (options: CompareOptions) => {
      const { router, models } = await buildRouter(options);
      const traces = new Map<string, DecisionTrace>();
      router.onTrace((trace) => traces.set(trace.id, trace));
      const columns = await Promise.all(models.map((model) => runColumn(router, model, options, traces)));
      if (options.json) out(JSON.stringify({ prompt: options.prompt, columns }, null, 2));
      else out(renderColumns(columns, process.stdout.columns ?? 120));
      if (columns.every((c) => !c.ok)) process.exitCode = EXIT.failed;
    });
}
