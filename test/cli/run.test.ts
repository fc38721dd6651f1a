import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'switchyard-run-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('switchyard run', () => {
  it('runs a small scenario, writes the four report formats and a summary, and exits 0', async () => {
    const dir = join(out, 'ok');
    const result = await runCli(['run', 'test/cli/fixtures/small.yaml', '--out', dir]);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/small-outage\s+✓ PASS\s+2\/2/);
    const files = await readdir(dir);
    for (const name of [
      'small-outage.journal.json',
      'small-outage.junit.xml',
      'small-outage.md',
      'small-outage.html',
      'summary.md',
      'summary.junit.xml',
      'index.html',
    ])
      expect(files).toContain(name);
    const journal = JSON.parse(await readFile(join(dir, 'small-outage.journal.json'), 'utf8'));
    expect(journal.status).toBe('complete');
    expect(journal.verdict).toBe('passed');
    expect(journal.requests.length).toBeGreaterThan(50);
    expect(await readFile(join(dir, 'small-outage.junit.xml'), 'utf8')).toContain('<testsuite');
  }, 60_000);

  it('appends its Markdown summary to $GITHUB_STEP_SUMMARY, after what other steps wrote, passed or failed', async () => {
    const dir = join(out, 'step-summary');
    const stepSummary = join(out, 'step-summary.md');
    await writeFile(stepSummary, '## an earlier step\n\n');
    const passed = await runCli(['run', 'test/cli/fixtures/small.yaml', '--out', dir], {
      env: { GITHUB_STEP_SUMMARY: stepSummary },
    });
    expect(passed.code).toBe(0);
    const summary = (await readFile(join(dir, 'summary.md'), 'utf8')).trimEnd();
    expect(summary).toContain('small-outage');
    expect(await readFile(stepSummary, 'utf8')).toBe(`## an earlier step\n\n${summary}\n\n`);
    const failed = await runCli(
      ['run', 'test/cli/fixtures/must-fail.yaml', '--out', join(out, 'step-failed')],
      {
        env: { GITHUB_STEP_SUMMARY: stepSummary },
      },
    );
    expect(failed.code).toBe(1);
    const failedSummary = (await readFile(join(out, 'step-failed', 'summary.md'), 'utf8')).trimEnd();
    expect(await readFile(stepSummary, 'utf8')).toBe(
      `## an earlier step\n\n${summary}\n\n${failedSummary}\n\n`,
    );
  }, 60_000);

  it('exits 1 when a hypothesis fails, naming it with file:line', async () => {
    const result = await runCli(['run', 'test/cli/fixtures/must-fail.yaml', '--out', join(out, 'fail')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ FAIL');
    // The failing hypothesis starts at line 18 of the fixture.
    expect(result.stdout).toContain('test/cli/fixtures/must-fail.yaml:18 never-falls-back');
  }, 60_000);

  it('prints machine-readable results with --json (progress stays on stderr)', async () => {
    const result = await runCli([
      'run',
      'test/cli/fixtures/small.yaml',
      'test/cli/fixtures/must-fail.yaml',
      '--json',
      '--out',
      join(out, 'json'),
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      verdict: string;
      scenarios: Array<{ name: string; verdict: string; hypotheses: Array<{ id: string; passed: boolean }> }>;
    };
    expect(report.verdict).toBe('failed');
    const byName = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
    expect(byName['small-outage']?.verdict).toBe('passed');
    expect(byName['must-fail']?.verdict).toBe('failed');
    expect(byName['must-fail']?.hypotheses.find((h) => h.id === 'never-falls-back')?.passed).toBe(false);
  }, 60_000);

  it('gives the same journal for the same seed', async () => {
    const a = join(out, 'seed-a');
    const b = join(out, 'seed-b');
    await runCli(['run', 'test/cli/fixtures/small.yaml', '--seed', '9', '--out', a]);
    await runCli(['run', 'test/cli/fixtures/small.yaml', '--seed', '9', '--out', b]);
    const read = async (dir: string) => {
      const {
        wall: _wall,
        runId: _runId,
        ...rest
      } = JSON.parse(await readFile(join(dir, 'small-outage.journal.json'), 'utf8'));
      return rest;
    };
    expect(await read(a)).toEqual(await read(b));
  }, 60_000);

  it('exits 2 on bad input and runs nothing', async () => {
    const dir = join(out, 'bad');
    const result = await runCli(['run', 'test/cli/broken/wrong-type.yaml', '--out', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('test/cli/broken/wrong-type.yaml:5:9 load.rate:');
    await expect(readdir(dir)).rejects.toThrow();
  });

  it('exits 2 on a bad option value', async () => {
    const result = await runCli(['run', 'test/cli/fixtures/small.yaml', '--concurrency', 'lots']);
    expect(result.code).toBe(2);
    const share = await runCli(['run', 'test/cli/fixtures/small.yaml', '--stream-share', '1.5']);
    expect(share.code).toBe(2);
    expect(share.stderr).toContain('--stream-share must be a number from 0 to 1, got "1.5"');
  });

  it('fails a run on an inconclusive hypothesis unless the scenario allows it, and says which', async () => {
    const result = await runCli([
      'run',
      'test/cli/fixtures/no-evidence.yaml',
      '--out',
      join(out, 'unsure'),
      '--stream-share',
      '1',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no-evidence\s+✗ FAIL\s+1\/3 \(2 \?\)/);
    expect(result.stdout).toContain(
      '? test/cli/fixtures/no-evidence.yaml:12 nothing-to-retry (inconclusive):',
    );
    expect(result.stdout).toContain('expected ≤ 3 per 10 ms; actual inconclusive: no retries');
    expect(result.stdout).toContain(
      '? test/cli/fixtures/no-evidence.yaml:15 never-opened (inconclusive, allowed):',
    );
    const json = await runCli([
      'run',
      'test/cli/fixtures/no-evidence.yaml',
      '--json',
      '--out',
      join(out, 'unsure-json'),
    ]);
    const scenario = (
      JSON.parse(json.stdout) as {
        scenarios: Array<{ hypotheses: Array<{ id: string; verdict: string; passed: boolean }> }>;
      }
    ).scenarios[0]!;
    expect(scenario.hypotheses.map((h) => [h.id, h.verdict, h.passed])).toEqual([
      ['0:success_rate', 'passed', true],
      ['nothing-to-retry', 'inconclusive', false],
      ['never-opened', 'inconclusive', true],
    ]);
    const journal = JSON.parse(await readFile(join(out, 'unsure', 'no-evidence.journal.json'), 'utf8'));
    expect(journal.streamShareOverride).toBe(1);
    expect(journal.requests.every((r: { stream: boolean }) => r.stream)).toBe(true);
  }, 60_000);

  it('on SIGINT stops, writes the journals marked incomplete, and exits 130', async () => {
    const dir = join(out, 'interrupted');
    const { spawn } = await import('node:child_process');
    const { CLI, ROOT } = await import('./helpers.ts');
    // --real-time: the scenario takes 40 s of wall time, so the signal surely lands mid-run.
    const child = spawn(
      process.execPath,
      [CLI, 'run', 'test/cli/fixtures/small.yaml', '--real-time', '--out', dir],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    // Wait until the run has started (its line is printed), then a little longer for some traffic.
    await new Promise<void>((resolveStarted) => {
      const check = () => (stderr.includes('small-outage') ? resolveStarted() : setTimeout(check, 50));
      check();
    });
    // The line is printed before the worker has loaded; give the run a few seconds of traffic.
    await new Promise((r) => setTimeout(r, 7_000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    const journal = JSON.parse(await readFile(join(dir, 'small-outage.journal.json'), 'utf8'));
    expect(journal.status).toBe('incomplete');
    expect(journal.verdict).toBe('incomplete');
    expect(journal.requests.length).toBeGreaterThan(0);
  }, 60_000);
});
