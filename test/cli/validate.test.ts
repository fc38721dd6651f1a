import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers.ts';

/** Each broken file, where its problem is, and the field the message must name. */
const BROKEN: Array<{ file: string; line: number; column: number; field?: string; says: RegExp }> = [
  // A YAML-level error (a duplicate key) has no schema field: the document itself is broken.
  { file: 'bad-yaml.yaml', line: 7, column: 3, says: /Map keys must be unique/ },
  {
    file: 'unknown-fault.yaml',
    line: 8,
    column: 12,
    field: 'faults[0].fault',
    says: /provider_on_fire|expected one of/,
  },
  { file: 'wrong-type.yaml', line: 5, column: 9, field: 'load.rate', says: /expected number/ },
  { file: 'missing-field.yaml', line: 1, column: 1, field: 'description', says: /missing required field/ },
  { file: 'bad-duration.yaml', line: 6, column: 13, field: 'load.duration', says: /duration/ },
  {
    file: 'unknown-deployment.yaml',
    line: 12,
    column: 19,
    field: 'router.routes[0].fallbacks[0]',
    says: /unknown deployment "anthropic\/claude-nope"/,
  },
  {
    file: 'plain-api-key.yaml',
    line: 8,
    column: 15,
    field: 'router.deployments[0].apiKey',
    says: /never written/,
  },
];

describe('switchyard validate', () => {
  for (const broken of BROKEN) {
    it(`rejects ${broken.file} with file:line:column${broken.field ? ' and field' : ''}`, async () => {
      const result = await runCli(['validate', `test/cli/broken/${broken.file}`]);
      expect(result.code).toBe(2);
      const where = `test/cli/broken/${broken.file}:${broken.line}:${broken.column}`;
      const line = result.stderr.split('\n').find((l) => l.startsWith(where));
      expect(line, result.stderr).toBeDefined();
      if (broken.field) expect(line).toContain(` ${broken.field}: `);
      expect(line).toMatch(broken.says);
    });
  }

  it('never echoes a key written in clear', async () => {
    const result = await runCli(['validate', 'test/cli/broken/plain-api-key.yaml']);
    expect(result.stderr + result.stdout).not.toContain('sk-test-plain-string-in-config-0123456789');
  });

  it('reports every broken file of a folder in one run, as JSON too', async () => {
    const result = await runCli(['validate', 'test/cli/broken', '--json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as {
      valid: boolean;
      files: Array<{ file: string; issues: Array<{ line: number; field: string }> }>;
    };
    expect(report.valid).toBe(false);
    expect(report.files).toHaveLength(BROKEN.length);
    for (const file of report.files) expect(file.issues.length).toBeGreaterThan(0);
  });

  it('accepts the shipped library (scenarios, router configs, weakened configs)', async () => {
    const result = await runCli(['validate', 'scenarios']);
    expect(result.stderr).not.toMatch(/invalid/);
    expect(result.code).toBe(0);
    const scenarioLines = result.stdout.split('\n').filter((l) => l.includes('scenario "'));
    expect(scenarioLines.length).toBeGreaterThanOrEqual(15);
  });

  it('refuses a file over --max-yaml-bytes, and one naming files outside the project unless allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-limits-'));
    try {
      const small = await readFile(join(ROOT, 'test/cli/fixtures/small.yaml'), 'utf8');
      const big = join(dir, 'big.yaml');
      await writeFile(big, `${small}\n# ${'x'.repeat(2_000)}\n`);
      const refused = await runCli(['validate', big, '--max-yaml-bytes', '1000']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /big\.yaml: the file has [\d,]+ bytes, over the limit of 1,000 \(raise it with --max-yaml-bytes\)/,
      );
      // The scenario sits outside the project (the repo): its own folder is fine, /etc is not.
      const outside = join(dir, 'outside.yaml');
      await writeFile(
        outside,
        small.replace(/router:[\s\S]*?\nload:/, 'router: { path: /etc/hostname }\nload:'),
      );
      const escaped = await runCli(['validate', outside]);
      expect(escaped.code).toBe(2);
      expect(escaped.stderr).toMatch(/router\.path: \/etc\/hostname is outside the project folder/);
      const allowed = await runCli(['validate', outside, '--allow-outside-project']);
      expect(allowed.stderr).not.toMatch(/outside the project folder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 for a path that does not exist', async () => {
    const result = await runCli(['validate', 'test/cli/no-such-folder']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no such file or folder');
  });
});
