import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

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

  it('exits 2 for a path that does not exist', async () => {
    const result = await runCli(['validate', 'test/cli/no-such-folder']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no such file or folder');
  });
});
