import { appendFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { JournalWriter, ReportFiles, SummaryFiles } from '../../reports/index.ts';
import type { RouterConfig } from '../../runtime/config/schema.ts';
import type { RunProgress, Scenario } from '../../scenarios/index.ts';
import { hypothesisVerdict, type RunJournal } from '../../scenarios/journal.ts';
import { displayPath } from '../shared/files.ts';
import {
  CliError,
  EXIT,
  err,
  formatMs,
  intOption,
  issuesOf,
  out,
  paint,
  plain,
  shareOption,
  table,
} from '../shared/output.ts';
import type { FromWorker, ToWorker } from './run-worker.ts';
import {
  ALLOW_OUTSIDE_PROJECT_OPTION,
  checkFiles,
  MAX_YAML_BYTES_OPTION,
  type ReadLimits,
} from './validate.ts';

interface RunOptions extends ReadLimits {
  out: string;
  router?: string;
  seed?: number;
  realTime?: boolean;
  live?: boolean;
  concurrency: number;
  json?: boolean;
  against?: string;
  proxyPort?: number;
  model?: string;
  streamShare?: number;
}

/** The environment variable whose value is sent to the gateway as its API key in --against mode. */
const GATEWAY_KEY_ENV = 'SWITCHYARD_GATEWAY_API_KEY';

export interface ScenarioResult {
  scenario: Scenario;
  name: string;
  journal?: RunJournal;
  /** The run stopped on an error (the journal, if any, is incomplete). */
  error?: string;
  files?: ReportFiles;
  wallMs: number;
}

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** The worker next to this module: run-worker.ts in the repo, run-worker.js in the published package. */
const WORKER_EXTENSION = extname(fileURLToPath(import.meta.url));

/**
 * In a GitHub Actions job, the run's Markdown summary is appended to the job's step summary
 * (`$GITHUB_STEP_SUMMARY`, a file other steps append to as well), passed or failed. A summary that
 * cannot be written is reported, and changes no verdict.
 */
async function appendStepSummary(markdownFile: string): Promise<void> {
  const target = process.env.GITHUB_STEP_SUMMARY;
  if (!target) return;
  try {
    await appendFile(target, `${(await readFile(markdownFile, 'utf8')).trimEnd()}\n\n`);
  } catch (error) {
    err(
      paint('yellow', `cannot append to $GITHUB_STEP_SUMMARY: ${(error as Error).message}`, process.stderr),
    );
  }
}

/** Planned size of a run for the progress bar: simulated seconds when the load has a duration. */
function planOf(scenario: Scenario): { total: number; unit: 's' | 'req' } {
  if (scenario.load.duration !== undefined)
    return { total: Math.ceil(scenario.load.duration / 1000), unit: 's' };
  return { total: scenario.load.requests ?? 1, unit: 'req' };
}

/** Progress shown as a bar per running scenario on a TTY, as one line per start/finish otherwise. */
class ProgressView {
  readonly #multi: cliProgress.MultiBar | undefined;
  readonly #bars = new Map<number, cliProgress.SingleBar>();

  /** `bars`: the cli-progress module on a TTY, undefined for plain lines. */
  constructor(bars: typeof cliProgress | undefined) {
    if (bars)
      this.#multi = new bars.MultiBar(
        {
          format: ' {bar} {percentage}% | {name} | {value}/{total} {unit} | {finished} done, {failed} failed',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          stream: process.stderr,
        },
        bars.Presets.shades_classic,
      );
  }

  start(id: number, scenario: Scenario): void {
    const plan = planOf(scenario);
    if (this.#multi) {
      this.#bars.set(
        id,
        // cli-progress writes to the terminal itself: the name is made plain here.
        this.#multi.create(plan.total, 0, {
          name: plain(scenario.name),
          unit: plan.unit,
          finished: 0,
          failed: 0,
        }),
      );
    } else {
      err(`… ${scenario.name} (${displayPath(scenario.file)})`);
    }
  }

  update(id: number, scenario: Scenario, progress: RunProgress): void {
    const bar = this.#bars.get(id);
    if (!bar) return;
    const plan = planOf(scenario);
    const value = plan.unit === 's' ? Math.floor(progress.elapsedMs / 1000) : progress.finished;
    bar.update(Math.min(value, plan.total), { finished: progress.finished, failed: progress.failed });
  }

  finish(id: number, result: ScenarioResult): void {
    const bar = this.#bars.get(id);
    if (bar) {
      bar.update(bar.getTotal(), { name: `${plain(result.name)} ${verdictLabel(result, process.stderr)}` });
      return;
    }
    err(
      `${verdictLabel(result, process.stderr)} ${result.name} ${paint('dim', `(${formatMs(result.wallMs)})`, process.stderr)}`,
    );
  }

  stop(): void {
    this.#multi?.stop();
  }
}

function verdictOf(result: ScenarioResult): 'passed' | 'failed' | 'incomplete' | 'error' {
  if (result.error && (!result.journal || result.journal.status === 'incomplete')) return 'error';
  return result.journal?.verdict ?? 'error';
}

function verdictLabel(result: ScenarioResult, stream: NodeJS.WriteStream = process.stdout): string {
  const verdict = verdictOf(result);
  if (verdict === 'passed') return paint('green', '✓ PASS', stream);
  if (verdict === 'failed') return paint('red', '✗ FAIL', stream);
  if (verdict === 'incomplete') return paint('yellow', '… INCOMPLETE', stream);
  return paint('red', '! ERROR', stream);
}

/** Runs scenarios on a pool of worker threads; resolves when all ended or were stopped. */
async function runAll(
  scenarios: Scenario[],
  options: RunOptions,
  outDir: string,
  view: ProgressView,
  signal: AbortSignal,
): Promise<ScenarioResult[]> {
  const { startJournal, writeReports } = await import('../../reports/index.ts');
  const results: ScenarioResult[] = new Array(scenarios.length);
  const queue = scenarios.map((scenario, id) => ({ scenario, id }));
  const mode = options.realTime || options.live ? 'real-time' : 'virtual';
  const workerCount = Math.max(1, Math.min(options.concurrency, scenarios.length));
  const workers: Worker[] = [];

  const runOn = (worker: Worker): Promise<void> =>
    new Promise<void>((resolveWorker) => {
      let current: { scenario: Scenario; id: number; started: number; writer?: JournalWriter } | undefined;
      const next = async () => {
        const item = signal.aborted ? undefined : queue.shift();
        if (!item) {
          resolveWorker();
          return;
        }
        current = { ...item, started: Date.now() };
        // An incomplete journal is on disk from the start: a run killed outright still leaves one.
        current.writer = await startJournal(outDir, {
          runId: crypto.randomUUID(),
          wall: { startedAt: new Date().toISOString() },
          scenario: {
            name: item.scenario.name,
            description: item.scenario.description,
            file: item.scenario.file,
            seed: options.seed ?? item.scenario.seed,
          },
          versions: { switchyard: version, node: process.versions.node, sdks: {} },
          mode,
          config: item.scenario.router,
        }).catch(() => undefined);
        view.start(item.id, item.scenario);
        worker.postMessage({
          type: 'run',
          id: item.id,
          scenario: item.scenario,
          mode,
          ...(options.live ? { live: true } : {}),
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.streamShare !== undefined ? { streamShare: options.streamShare } : {}),
        } satisfies ToWorker);
      };
      const settle = async (journal: RunJournal | undefined, error: string | undefined) => {
        const item = current!;
        current = undefined;
        const result: ScenarioResult = {
          scenario: item.scenario,
          name: item.scenario.name,
          wallMs: Date.now() - item.started,
          ...(journal ? { journal } : {}),
          ...(error ? { error } : {}),
        };
        if (journal) {
          try {
            result.files = item.writer
              ? (await item.writer.finish(journal)).files
              : (await writeReports(journal, outDir)).files;
          } catch (writeError) {
            result.error = `cannot write reports: ${(writeError as Error).message}`;
          }
        } else if (item.writer) {
          result.files = (await item.writer.interrupt().catch(() => undefined))?.files;
        }
        results[item.id] = result;
        view.finish(item.id, result);
        await next();
      };
      worker.on('message', (message: FromWorker) => {
        if (!current || message.id !== current.id) return;
        if (message.type === 'progress') view.update(current.id, current.scenario, message.progress);
        else if (message.type === 'done') void settle(message.journal, message.error);
        else void settle(undefined, message.error);
      });
      worker.on('error', (error) => {
        if (current) void settle(undefined, error.message);
        else resolveWorker();
      });
      void next();
    });

  const onAbort = () => {
    for (const worker of workers) worker.postMessage({ type: 'abort' } satisfies ToWorker);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < workerCount; i++) {
      const worker = new Worker(new URL(`./run-worker${WORKER_EXTENSION}`, import.meta.url));
      workers.push(worker);
      runs.push(runOn(worker));
    }
    await Promise.all(runs);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.filter((r): r is ScenarioResult => r !== undefined);
}

/**
 * --against: one chaos proxy for the whole session (the gateway is configured once), scenarios one
 * after another in this thread (the gateway is shared, and the run is real time, I/O bound).
 */
async function runAllAgainst(
  scenarios: Scenario[],
  options: RunOptions & { against: string },
  outDir: string,
  view: ProgressView,
  signal: AbortSignal,
): Promise<ScenarioResult[]> {
  const { startJournal, writeReports } = await import('../../reports/index.ts');
  const { AgainstSetupError, runAgainst, startAgainstProxy } = await import('../../scenarios/index.ts');
  let proxy: Awaited<ReturnType<typeof startAgainstProxy>>;
  try {
    proxy = await startAgainstProxy({ port: options.proxyPort ?? 0 });
  } catch (error) {
    throw new CliError(`cannot start the chaos proxy: ${(error as Error).message}`);
  }
  err(
    [
      `chaos proxy on ${proxy.url}: point your gateway's upstreams at it`,
      `  OpenAI     ${proxy.upstreams.openai}`,
      `  Anthropic  ${proxy.upstreams.anthropic}`,
      `  Ollama     ${proxy.upstreams.ollama}`,
      `load goes to ${options.against} (model: ${options.model ?? "each request's route name"})`,
    ].join('\n'),
  );
  const results: ScenarioResult[] = [];
  try {
    for (const [id, scenario] of scenarios.entries()) {
      if (signal.aborted) break;
      const started = Date.now();
      const seed = options.seed ?? scenario.seed;
      const writer = await startJournal(outDir, {
        runId: crypto.randomUUID(),
        wall: { startedAt: new Date().toISOString() },
        scenario: { name: scenario.name, description: scenario.description, file: scenario.file, seed },
        versions: { switchyard: version, node: process.versions.node, sdks: {} },
        mode: 'against',
        config: scenario.router,
      }).catch(() => undefined);
      view.start(id, scenario);
      let runError: string | undefined;
      let journal: RunJournal | undefined;
      try {
        journal = await runAgainst(scenario, {
          gatewayUrl: options.against,
          proxy,
          signal,
          ...(options.model ? { model: options.model } : {}),
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.streamShare !== undefined ? { streamShare: options.streamShare } : {}),
          ...(process.env[GATEWAY_KEY_ENV] ? { apiKey: process.env[GATEWAY_KEY_ENV] } : {}),
          onProgress: (progress) => view.update(id, scenario, progress),
          onError: (error) => {
            runError = error instanceof Error ? error.message : String(error);
          },
        });
      } catch (error) {
        await writer?.interrupt().catch(() => undefined);
        // Not wired or not reachable: nothing can be graded, for this scenario or the next.
        if (error instanceof AgainstSetupError) throw new CliError(error.message, EXIT.badInput);
        runError = error instanceof Error ? error.message : String(error);
      }
      const result: ScenarioResult = {
        scenario,
        name: scenario.name,
        wallMs: Date.now() - started,
        ...(journal ? { journal } : {}),
        ...(runError ? { error: runError } : {}),
      };
      if (journal) {
        try {
          result.files = writer
            ? (await writer.finish(journal)).files
            : (await writeReports(journal, outDir)).files;
        } catch (writeError) {
          result.error = `cannot write reports: ${(writeError as Error).message}`;
        }
      }
      results.push(result);
      view.finish(id, result);
      const a = journal?.against;
      if (a)
        err(
          paint(
            'dim',
            `  ${a.upstreamCalls} upstream calls: ${a.attributed.header} tied by request id, ${a.attributed.prompt} by prompt, ` +
              `${a.attributed.time} by time alone, ${a.unattributed} untied`,
            process.stderr,
          ),
        );
    }
  } finally {
    await proxy.close();
  }
  return results;
}

function successRate(journal: RunJournal): string {
  if (journal.requests.length === 0) return '—';
  const ok = journal.requests.filter((r) => r.outcome === 'success').length;
  return `${((ok / journal.requests.length) * 100).toFixed(1)}%`;
}

/** `3/4` held, with how many were inconclusive: `3/5 (1 ?)`. */
function heldCount(journal: RunJournal): string {
  const held = journal.hypotheses.filter((h) => hypothesisVerdict(h) === 'passed').length;
  const unsure = journal.hypotheses.filter((h) => hypothesisVerdict(h) === 'inconclusive').length;
  return `${held}/${journal.hypotheses.length}${unsure ? ` (${unsure} ?)` : ''}`;
}

export function renderVerdictTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const j = r.journal;
    return [
      r.name,
      verdictLabel(r),
      j ? heldCount(j) : '—',
      j ? String(j.requests.length) : '—',
      j ? successRate(j) : '—',
      j ? formatMs(j.durationMs) : '—',
      formatMs(r.wallMs),
    ];
  });
  const lines = [
    table(['scenario', 'verdict', 'hypotheses', 'requests', 'success', 'simulated', 'wall'], rows, [
      'left',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
    ]),
  ];
  for (const r of results) {
    if (r.error) lines.push(paint('red', `! ${r.name}: ${r.error.split('\n')[0]}`));
    for (const h of r.journal?.hypotheses ?? []) {
      const verdict = hypothesisVerdict(h);
      if (verdict === 'passed') continue;
      const where = `${displayPath(r.scenario.file)}${h.line ? `:${h.line}` : ''}`;
      // Inconclusive (no evidence) or not observable (--against): not proven, so not a pass, but not a
      // caught failure either; allowed by the scenario, it does not fail the run.
      const mark = verdict === 'inconclusive' ? paint('yellow', '?') : paint('red', '✗');
      const note =
        verdict === 'inconclusive' ? (h.passed ? ' (inconclusive, allowed)' : ' (inconclusive)') : '';
      lines.push(`${mark} ${where} ${paint('bold', h.id)}${note}: ${h.description}`);
      lines.push(`    expected ${h.expected}; actual ${h.actual}`);
      if (h.examples.length > 0) lines.push(paint('dim', `    e.g. ${h.examples.join(', ')}`));
    }
  }
  return lines.join('\n');
}

function toJson(
  results: ScenarioResult[],
  outDir: string,
  summary: SummaryFiles | undefined,
  verdict: string,
) {
  return {
    verdict,
    outDir,
    ...(summary ? { summary } : {}),
    scenarios: results.map((r) => ({
      name: r.name,
      file: displayPath(r.scenario.file),
      verdict: verdictOf(r),
      ...(r.error ? { error: r.error } : {}),
      requests: r.journal?.requests.length ?? 0,
      successRate: r.journal?.requests.length
        ? r.journal.requests.filter((q) => q.outcome === 'success').length / r.journal.requests.length
        : null,
      simulatedMs: r.journal?.durationMs ?? 0,
      wallMs: r.wallMs,
      ...(r.journal?.against ? { against: r.journal.against } : {}),
      ...(r.journal?.streamShareOverride !== undefined ? { streamShare: r.journal.streamShareOverride } : {}),
      hypotheses: (r.journal?.hypotheses ?? []).map((h) => ({
        id: h.id,
        kind: h.kind,
        verdict: hypothesisVerdict(h),
        passed: h.passed,
        ...(h.evaluable === false ? { evaluable: false } : {}),
        expected: h.expected,
        actual: h.actual,
        ...(h.line !== undefined ? { line: h.line } : {}),
        examples: h.examples,
      })),
      ...(r.files ? { reports: r.files } : {}),
    })),
  };
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'Run chaos scenarios against the simulated providers and check their hypotheses (or grade an external gateway with --against)',
    )
    .argument('[paths...]', 'scenario files or folders (searched recursively)', ['scenarios'])
    .option('--out <dir>', 'where reports go (absolute, or relative to the current folder)', 'reports')
    .option('--seed <n>', "override every scenario's seed", intOption('--seed'))
    .option('--router <file>', 'run every scenario against this router config instead of its own')
    .option('--real-time', 'run on the wall clock instead of the virtual one (as slow as the scenario)')
    .option(
      '--live',
      "call the router config's real providers (keys from the environment) instead of the simulator, with the faults injected on the way; implies --real-time",
    )
    .option(
      '--stream-share <x>',
      'force the share of streamed requests (0..1) in every scenario, e.g. 1 to re-run it all streamed',
      shareOption('--stream-share'),
    )
    .option(
      '--concurrency <n>',
      'scenarios run in parallel (worker threads)',
      intOption('--concurrency', 1),
      2,
    )
    .option('--json', 'print results as JSON on stdout (progress stays on stderr)')
    .option(...MAX_YAML_BYTES_OPTION)
    .option(...ALLOW_OUTSIDE_PROJECT_OPTION)
    .option(
      '--against <url>',
      'grade an external OpenAI-compatible gateway (e.g. http://127.0.0.1:4000/v1): the load goes to it, its upstreams go to the chaos proxy',
    )
    .option(
      '--proxy-port <n>',
      'with --against: the chaos proxy port (default a free one)',
      intOption('--proxy-port'),
    )
    .option(
      '--model <name>',
      "with --against: the model asked of the gateway (default each request's route name)",
    )
    .addHelpText(
      'after',
      '\nWrites <scenario>.journal.json, .junit.xml, .md and .html per scenario, plus summary.md,\n' +
        'summary.junit.xml and index.html. Exit codes: 0 all hypotheses held, 1 some failed or were\n' +
        'inconclusive (no evidence either way; a scenario may allow that with allowInconclusive), 2 bad\n' +
        'input or config, 130 interrupted (journals are written, marked incomplete).\n' +
        'node tools/recheck-journal.mjs <journal…> re-derives every verdict from a journal alone.\n\n' +
        '--against URL grades a gateway you run (LiteLLM, Portkey, your own): the chaos proxy serves the\n' +
        "simulated providers with each scenario's faults on 127.0.0.1 (OpenAI at <proxy>/v1, Anthropic\n" +
        "and Ollama at <proxy>); point the gateway's upstreams there (fix the port with --proxy-port) and\n" +
        "the scenario's load goes to URL through the openai SDK, in real time, one scenario at a time.\n" +
        `Requests carry x-switchyard-request-id (forward it to tie upstream calls exactly; else they are\n` +
        `tied by prompt, then by time). The gateway's API key is read from ${GATEWAY_KEY_ENV}.\n` +
        'Hypotheses about its internals (breakers, budgets, spend) are reported not observable, and fail.\n' +
        'A gateway that cannot be reached or sends nothing to the proxy exits 2.',
    )
    .action(async (paths: string[], options: RunOptions) => {
      // Live runs send the keys the configs name: an unset one is bad input, found before anything runs.
      const keyEnv = options.live ? process.env : undefined;
      const checked = await checkFiles(paths, {
        env: keyEnv,
        maxBytes: options.maxYamlBytes,
        allowOutsideProject: options.allowOutsideProject,
      });
      const issues = checked.flatMap((c) => c.issues);
      const explicitRouters = checked.filter((c) => c.file.kind === 'router' && c.file.explicit);
      if (issues.length > 0)
        throw new CliError(
          `${issues.length} problem(s) in the input; nothing was run`,
          EXIT.badInput,
          issues,
        );
      if (explicitRouters.length > 0)
        throw new CliError(
          `${explicitRouters.map((c) => c.name).join(', ')} is a router config, not a scenario`,
        );
      let scenarios = checked.flatMap((c) => (c.scenario ? [c.scenario] : []));
      if (options.router) {
        // Grading another config against the same faults and hypotheses (e.g. scenarios/weakened/).
        const routerFile = resolve(options.router);
        let router: RouterConfig;
        try {
          const { loadRouterConfig } = await import('../../runtime/config/load.ts');
          router = await loadRouterConfig(options.router, { env: keyEnv, maxBytes: options.maxYamlBytes });
        } catch (error) {
          throw new CliError(
            `invalid router config ${options.router}`,
            EXIT.badInput,
            issuesOf(error, options.router),
          );
        }
        scenarios = scenarios.map((s) => ({ ...s, router, routerFile }));
      }
      if (scenarios.length === 0) throw new CliError(`no scenario files found in ${paths.join(', ')}`);
      if (options.against !== undefined) {
        let url: URL | undefined;
        try {
          url = new URL(options.against);
        } catch {
          url = undefined;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
          throw new CliError(`--against needs the gateway's http(s) base URL, got "${options.against}"`);
        if (options.realTime) throw new CliError('--against always runs in real time: drop --real-time');
        if (options.live)
          throw new CliError('--live and --against do not combine: --against grades a gateway');
      } else if (options.proxyPort !== undefined || options.model !== undefined) {
        throw new CliError('--proxy-port and --model only apply with --against');
      }
      const names = scenarios.map((s) => s.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup) throw new CliError(`two scenarios are named "${dup}": reports would overwrite each other`);

      const outDir = resolve(options.out);
      const controller = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        interrupts++;
        if (interrupts > 1) process.exit(EXIT.interrupted);
        err(
          paint(
            'yellow',
            '\ninterrupted: stopping the runs and writing incomplete journals (Ctrl-C again to quit now)',
            process.stderr,
          ),
        );
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      const tty = Boolean(process.stderr.isTTY) && !options.json;
      const view = new ProgressView(tty ? (await import('cli-progress')).default : undefined);
      let results: ScenarioResult[];
      try {
        results =
          options.against !== undefined
            ? await runAllAgainst(
                scenarios,
                { ...options, against: options.against },
                outDir,
                view,
                controller.signal,
              )
            : await runAll(scenarios, options, outDir, view, controller.signal);
      } finally {
        view.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const journals = results.flatMap((r) => (r.journal ? [r.journal] : []));
      let summary: SummaryFiles | undefined;
      if (journals.length > 0) {
        const { writeSummary } = await import('../../reports/index.ts');
        try {
          summary = (await writeSummary(journals, outDir)).files;
        } catch (error) {
          err(paint('red', `cannot write the summary: ${(error as Error).message}`, process.stderr));
        }
        if (summary) await appendStepSummary(summary.markdown);
      }
      const verdicts = results.map(verdictOf);
      const overall = controller.signal.aborted
        ? 'incomplete'
        : verdicts.every((v) => v === 'passed')
          ? 'passed'
          : 'failed';
      if (options.json) {
        out(JSON.stringify(toJson(results, outDir, summary, overall), null, 2));
      } else {
        out(renderVerdictTable(results));
        out();
        const passed = verdicts.filter((v) => v === 'passed').length;
        out(
          `${overall === 'passed' ? paint('green', 'PASSED') : overall === 'failed' ? paint('red', 'FAILED') : paint('yellow', 'INTERRUPTED')} ` +
            `${passed}/${results.length} scenarios${scenarios.length > results.length ? ` (${scenarios.length - results.length} not started)` : ''}` +
            ` — reports in ${displayPath(outDir)}${summary ? `/${'index.html'}` : ''}`,
        );
      }
      process.exitCode =
        overall === 'incomplete' ? EXIT.interrupted : overall === 'passed' ? EXIT.ok : EXIT.failed;
    });
}
