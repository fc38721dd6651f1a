import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-init-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard init', () => {
  it('scaffolds a scenario, a router config and the schema that validate and run', async () => {
    const created = await runCli(['init', 'my-scenarios'], { cwd: dir });
    expect(created.code).toBe(0);
    expect((await readdir(join(dir, 'my-scenarios'))).sort()).toEqual([
      'my-first-scenario.yaml',
      'router.yaml',
      'scenario.schema.json',
    ]);
    const validated = await runCli(['validate', 'my-scenarios'], { cwd: dir });
    expect(validated.stderr).toContain('2 file(s) valid');
    expect(validated.code).toBe(0);
    const ran = await runCli(['run', 'my-scenarios', '--out', 'out'], { cwd: dir });
    expect(ran.stdout).toMatch(/my-first-scenario\s+✓ PASS/);
    expect(ran.code).toBe(0);
  }, 60_000);

  it('in an empty project, bare `init` then bare `run` passes and writes reports/', async () => {
    const project = join(dir, 'empty-project');
    await mkdir(project);
    expect((await runCli(['init'], { cwd: project })).code).toBe(0);
    const ran = await runCli(['run'], { cwd: project });
    expect(ran.stdout).toMatch(/my-first-scenario\s+✓ PASS\s+4\/4/);
    expect(ran.code).toBe(0);
    expect(await readdir(join(project, 'reports'))).toEqual(
      expect.arrayContaining(['my-first-scenario.junit.xml', 'my-first-scenario.html', 'summary.md']),
    );
  }, 60_000);

  it('refuses to overwrite', async () => {
    const again = await runCli(['init', 'my-scenarios'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite');
  });
});
