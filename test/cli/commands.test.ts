import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard compare', () => {
  it('prints one column per model against the simulator, without keys', async () => {
    const result = await runCli(['compare', '--prompt', 'Name three rivers.', '--max-tokens', '32'], {
      env: { OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, COLUMNS: '150' },
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    // The header line names the three default models side by side.
    expect(lines[0]).toMatch(/^gpt-4\.1\s+claude-sonnet-4-6\s+llama3\.2:latest$/);
    expect(lines[1]?.match(/✓ ok/g)).toHaveLength(3);
    for (const label of ['latency', 'TTFT', 'tokens', 'cost', 'finish', 'path:']) {
      const row = lines.find((l) => l.startsWith(label));
      expect(row, label).toBeDefined();
      expect(row!.split(label).length - 1, label).toBe(3);
    }
  });

  it('gives the columns as JSON', async () => {
    const result = await runCli([
      'compare',
      '--prompt',
      'hi',
      '--models',
      'gpt-4o-mini,claude-haiku-4-5',
      '--json',
    ]);
    const parsed = JSON.parse(result.stdout) as {
      columns: Array<{ model: string; ok: boolean; path: string }>;
    };
    expect(parsed.columns.map((c) => c.model)).toEqual(['gpt-4o-mini', 'claude-haiku-4-5']);
    for (const column of parsed.columns) {
      expect(column.ok).toBe(true);
      expect(column.path).toContain('✓');
    }
  });

  it('exits 2 on a model the simulator does not know', async () => {
    const result = await runCli(['compare', '--prompt', 'hi', '--models', 'not-a-model']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown model "not-a-model"');
  });
});

describe('switchyard record', () => {
  it('explains that a key is needed and exits 2 when it is missing', async () => {
    const result = await runCli(['record', '--out', join(dir, 'c.json'), '--prompt', 'hi'], {
      env: { OPENAI_API_KEY: undefined },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set OPENAI_API_KEY');
    await expect(stat(join(dir, 'c.json'))).rejects.toThrow();
  });
});

describe('switchyard report', () => {
  it('re-renders the reports of a journal into another folder', async () => {
    const runDir = join(dir, 'run');
    const ran = await runCli(['run', 'test/cli/fixtures/small.yaml', '--out', runDir]);
    expect(ran.code).toBe(0);
    const again = join(dir, 'again');
    const result = await runCli([
      'report',
      join(runDir, 'small-outage.journal.json'),
      '--out',
      again,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { reports: Array<{ files: { html: string } }> };
    expect(await readFile(parsed.reports[0]!.files.html, 'utf8')).toContain('small-outage');
  }, 60_000);

  it('exits 2 on a journal that is not one', async () => {
    const result = await runCli(['report', 'test/cli/fixtures/small.yaml']);
    expect(result.code).toBe(2);
  });
});

describe('switchyard --help', () => {
  for (const command of ['run', 'validate', 'init', 'compare', 'serve', 'record', 'report']) {
    it(`${command} --help exits 0 with usage`, async () => {
      const result = await runCli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: switchyard ${command}`);
    });
  }
});

describe('switchyard --version', () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'core/package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });
});
