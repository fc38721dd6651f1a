import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../cli/helpers.ts';

/**
 * docs/ci.md's GitHub Actions workflow and GitLab CI job: valid YAML, the published CLI (npx, never
 * a clone of this repo), and every report path they publish is one `switchyard run` really writes.
 */
const doc = await readFile(resolve(import.meta.dirname, '../../docs/ci.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'switchyard-ci-recipes-'));
  const ran = await runCli(['run', 'test/cli/fixtures/small.yaml', '--out', out]);
  expect(ran.code).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

/** Every report file the page names (`reports/…` in the recipes, `name` in its table), under the run's output. */
function reportFiles(text: string): string[] {
  const named = [
    ...text.matchAll(/reports\/([\w.-]+\.(?:xml|md|html|json))/g),
    ...text.matchAll(/^\| `([\w.-]+\.(?:xml|md|html|json))`/gm),
  ];
  return [...new Set(named.map((m) => join(out, m[1]!)))];
}

interface GitHubWorkflow {
  jobs: Record<string, { steps: Array<{ run?: string; uses?: string; with?: Record<string, string> }> }>;
}
interface GitLabJob {
  script: string[];
  artifacts: { paths: string[]; reports: { junit: string } };
}
const recipes = () => {
  const [github, gitlab] = blocks.map((block) => parse(block) as unknown);
  return { github: github as GitHubWorkflow, gitlab: (gitlab as Record<string, GitLabJob>).switchyard! };
};

describe('docs/ci.md', () => {
  it('has a GitHub Actions workflow and a GitLab CI job, both valid YAML', () => {
    expect(blocks).toHaveLength(2);
    const { github, gitlab } = recipes();
    expect(Object.keys(github.jobs)).toEqual(['switchyard']);
    expect(gitlab.artifacts.reports.junit).toBe('reports/summary.junit.xml');
  });

  it('runs the published CLI, publishes JUnit and keeps the HTML report', () => {
    const { github, gitlab } = recipes();
    const steps = github.jobs.switchyard!.steps;
    expect(steps.map((step) => step.run)).toContain('npx switchyard run scenarios --out reports');
    expect(steps.find((step) => step.uses?.startsWith('actions/upload-artifact'))?.with?.path).toBe(
      'reports/',
    );
    expect(steps.find((step) => step.uses?.includes('junit'))?.with?.report_paths).toBe(
      'reports/summary.junit.xml',
    );
    expect(gitlab.script).toContain('npx switchyard run scenarios --out reports');
    expect(gitlab.artifacts.paths).toEqual(['reports/']);
    for (const block of blocks) expect(block).not.toMatch(/git clone|switchyard\.git|core\/src\/cli/);
  });

  it('names only report files that switchyard run writes', () => {
    const named = reportFiles(doc);
    expect(named.length).toBeGreaterThanOrEqual(3);
    expect(named.filter((file) => !existsSync(file))).toEqual([]);
  });
});
