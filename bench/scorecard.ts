/**
 * The gateway scorecard (`npm run scorecard`): the shipped scenario library graded against Switchyard's
 * gateway and Portkey's, each a separate process on loopback, with `switchyard run --against` (the
 * CLI as a user runs it: the chaos proxy serves the simulated providers with each scenario's faults,
 * the gateway's upstreams point at it, the scenario's load goes to the gateway). Both gateways are
 * configured from the scenario's own router config (scorecard/gateways.ts). Prints a table of
 * hypotheses held / failed / not observable (and inconclusive) per scenario and gateway, and writes
 * it to <out>/scorecard.md next to each run's reports.
 *
 *   npm run scorecard [-- <scenario.yaml…>] [--gateways switchyard,portkey] [--parallel N] [--gap 5]
 *                     [--out reports/scorecard]
 *
 * Every scenario runs in real time for its full timeline (the faults' windows are in wall time):
 * ~4 min each. Runs go `--parallel` at a time (default 12), one starting every `--gap`
 * seconds, each with its own proxy port and its own Switchyard gateway; one Portkey serves them all
 * (its config travels in each request).
 * Sends only to 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type HypothesisResult,
  hypothesisVerdict,
  loadScenario,
  type RunJournal,
} from '@switchyard/core/scenarios';
import { type Child, startPortkey, startSwitchyardGateway } from './lib/proc.ts';
import {
  portkeyConfig,
  switchyardGatewayConfig,
  UPSTREAM_KEY,
  UPSTREAM_KEY_ENV,
} from './scorecard/gateways.ts';

export type GatewayName = 'switchyard' | 'portkey';

const ROOT = new URL('..', import.meta.url).pathname;

/** Gateways and grading runs started and not yet ended: stopped on Ctrl-C too, so none outlives the scorecard. */
const running = new Set<Child>();
const grading = new Set<ChildProcess>();
const CLI = join(ROOT, 'core/src/cli/main.ts');

/** One scenario graded against one gateway. */
export interface Grade {
  scenario: string;
  gateway: GatewayName;
  held: string[];
  failed: string[];
  notObservable: string[];
  inconclusive: string[];
  requests: number;
  /** The run could not grade (the gateway was not reachable or not wired: exit 2), and why. */
  error?: string;
  wallMs: number;
}

/**
 * A free port for a run's chaos proxy, chosen below Linux's ephemeral range (32768+): the CLI binds
 * it a moment later, and a port the kernel hands out for outgoing connections could be taken by then.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
    });
    if (free) return port;
  }
}

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    grading.add(child);
    child.on('error', reject);
    child.on('close', (code) => {
      grading.delete(child);
      done({ code, stderr });
    });
  });
}

function emptyGrade(scenario: string, gateway: GatewayName): Grade {
  return {
    scenario,
    gateway,
    held: [],
    failed: [],
    notObservable: [],
    inconclusive: [],
    requests: 0,
    wallMs: 0,
  };
}

/** A hypothesis's column on the scorecard. */
function columnOf(h: HypothesisResult): 'held' | 'failed' | 'notObservable' | 'inconclusive' {
  if (h.evaluable === false) return 'notObservable';
  const verdict = hypothesisVerdict(h);
  return verdict === 'passed' ? 'held' : verdict === 'failed' ? 'failed' : 'inconclusive';
}

export interface GradeOptions {
  out: string;
  /** Portkey's base URL, when `gateway` is portkey (one Portkey serves every run). */
  portkeyUrl?: string;
}

/**
 * Grades one scenario file against one gateway: a proxy port chosen, the gateway configured for it
 * (a Switchyard gateway started for this run; Portkey's config sent as a header), then
 * `switchyard run <file> --against … --proxy-port …`, and the journal read back.
 */
export async function gradeScenario(
  file: string,
  gateway: GatewayName,
  options: GradeOptions,
): Promise<Grade> {
  const started = performance.now();
  const scenario = await loadScenario(file);
  const port = await freePort();
  const proxy = `http://127.0.0.1:${port}`;
  const out = join(options.out, gateway);
  await mkdir(out, { recursive: true });
  let child: Child | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-scorecard-'));
  try {
    const args = ['run', file, '--proxy-port', String(port), '--out', out];
    if (gateway === 'switchyard') {
      const config = join(dir, `${scenario.name}.gateway.yaml`);
      await writeFile(config, switchyardGatewayConfig(file, proxy));
      // Many processes start at once on two cores: give the gateway time to load.
      child = await startSwitchyardGateway(config, { [UPSTREAM_KEY_ENV]: UPSTREAM_KEY }, 120_000);
      running.add(child);
      args.push('--against', `http://127.0.0.1:${child.port}/v1`);
    } else {
      if (!options.portkeyUrl) throw new Error('grading Portkey needs its URL');
      args.push('--against', options.portkeyUrl);
      args.push('--header', `x-portkey-config:${JSON.stringify(portkeyConfig(scenario.router, proxy))}`);
    }
    const run = await runCli(args);
    const grade = emptyGrade(scenario.name, gateway);
    if (run.code !== 0 && run.code !== 1) {
      grade.error = (run.stderr.trim().split('\n').at(-1) ?? `exit ${run.code}`).replace(/^switchyard: /, '');
    } else {
      const journal = JSON.parse(
        await readFile(join(out, `${scenario.name}.journal.json`), 'utf8'),
      ) as RunJournal;
      grade.requests = journal.requests.length;
      for (const h of journal.hypotheses) grade[columnOf(h)].push(h.id);
    }
    grade.wallMs = performance.now() - started;
    return grade;
  } finally {
    if (child) running.delete(child);
    await child?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `3 / 1 / 2 (1 ?)`: held / failed / not observable, inconclusive in brackets. */
function cell(grade: Grade | undefined): string {
  if (!grade) return '—';
  if (grade.error) return 'not graded';
  const unsure = grade.inconclusive.length ? ` (${grade.inconclusive.length} ?)` : '';
  return `${grade.held.length} / ${grade.failed.length} / ${grade.notObservable.length}${unsure}`;
}

export function scorecardTable(grades: Grade[], gateways: GatewayName[]): string {
  const names = [...new Set(grades.map((g) => g.scenario))];
  const find = (scenario: string, gateway: GatewayName) =>
    grades.find((g) => g.scenario === scenario && g.gateway === gateway);
  const header = `| scenario | ${gateways.map((g) => `${g}: held / failed / not observable`).join(' | ')} |`;
  const rule = `| --- | ${gateways.map(() => '---').join(' | ')} |`;
  const rows = names.map((n) => `| ${n} | ${gateways.map((g) => cell(find(n, g))).join(' | ')} |`);
  const total = (g: GatewayName, k: 'held' | 'failed' | 'notObservable') =>
    grades.filter((x) => x.gateway === g).reduce((sum, x) => sum + x[k].length, 0);
  const totals = `| **all** | ${gateways.map((g) => `**${total(g, 'held')} / ${total(g, 'failed')} / ${total(g, 'notObservable')}**`).join(' | ')} |`;
  return [header, rule, ...rows, totals].join('\n');
}

/** Differences: hypotheses one gateway held and the other failed. */
function differences(grades: Grade[]): string[] {
  const lines: string[] = [];
  for (const s of grades.filter((g) => g.gateway === 'switchyard')) {
    const p = grades.find((g) => g.gateway === 'portkey' && g.scenario === s.scenario);
    if (!p) continue;
    const onlyS = s.held.filter((id) => p.failed.includes(id));
    const onlyP = p.held.filter((id) => s.failed.includes(id));
    if (onlyS.length) lines.push(`${s.scenario}: held by switchyard, failed by portkey: ${onlyS.join(', ')}`);
    if (onlyP.length) lines.push(`${s.scenario}: held by portkey, failed by switchyard: ${onlyP.join(', ')}`);
  }
  return lines;
}

/**
 * Runs `jobs`, `width` at a time, starting one at most every `gapMs`: a run's start (a gateway and a
 * CLI loading) costs seconds of CPU, and many at once on two cores would slow the runs already
 * grading in real time.
 */
async function pool<T>(jobs: Array<() => Promise<T>>, width: number, gapMs: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let nextStart = performance.now();
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const wait = nextStart - performance.now();
      nextStart = Math.max(nextStart, performance.now()) + gapMs;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker));
  return results;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      gateways: { type: 'string', default: 'switchyard,portkey' },
      parallel: { type: 'string' },
      gap: { type: 'string', default: '5' },
      out: { type: 'string', default: 'reports/scorecard' },
    },
  });
  const gateways = values.gateways.split(',').map((g) => g.trim()) as GatewayName[];
  for (const g of gateways)
    if (g !== 'switchyard' && g !== 'portkey') throw new Error(`unknown gateway "${g}"`);
  const library = join(ROOT, 'scenarios');
  const files = positionals.length
    ? positionals.map((p) => resolve(p))
    : readdirSync(library)
        .filter((f) => f.endsWith('.yaml') && !f.startsWith('router.'))
        .sort()
        .map((f) => join(library, f));
  const out = resolve(values.out);
  const jobs = files.flatMap((file) => gateways.map((gateway) => ({ file, gateway })));
  // 12 at a time: ~3 waves of ~4.5 min for the library on both gateways; all 32 at once overload
  // two cores (the grading runs in real time, so a starved gateway or harness fails hypotheses).
  const parallel = Number(values.parallel ?? 12);
  const portkey = gateways.includes('portkey') ? await startPortkey() : undefined;
  if (portkey) running.add(portkey);
  const stopAll = async () => {
    for (const run of grading) run.kill('SIGTERM');
    await Promise.all([...running].map((child) => child.stop()));
    process.exit(130);
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  const started = performance.now();
  try {
    console.error(
      `scorecard: ${files.length} scenarios × ${gateways.join(', ')}, ${parallel} runs at a time`,
    );
    const grades = await pool(
      jobs.map(({ file, gateway }) => async () => {
        const grade = await gradeScenario(file, gateway, {
          out,
          ...(portkey ? { portkeyUrl: `http://127.0.0.1:${portkey.port}/v1` } : {}),
        }).catch(
          (error: Error): Grade => ({
            ...emptyGrade(basename(file, '.yaml'), gateway),
            error: error.message,
          }),
        );
        console.error(
          `  ${basename(file)} × ${gateway}: ${cell(grade)}${grade.error ? ` (${grade.error})` : ''} in ${Math.round(grade.wallMs / 1000)} s`,
        );
        return grade;
      }),
      parallel,
      Number(values.gap) * 1000,
    );
    const table = scorecardTable(grades, gateways);
    const diff = differences(grades);
    const text = [
      table,
      '',
      ...diff.map((d) => `- ${d}`),
      '',
      `${jobs.length} runs in ${Math.round((performance.now() - started) / 1000)} s`,
    ].join('\n');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'scorecard.md'), `${text}\n`);
    await writeFile(join(out, 'scorecard.json'), JSON.stringify(grades, null, 2));
    console.log(text);
  } finally {
    await portkey?.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
