/**
 * Names in scenarios and journals are data from files: an escape sequence in one must never reach
 * the terminal, where it could retitle the window, clear the screen, move the cursor over earlier
 * lines (hiding a failure) or plant a hyperlink.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJournal } from '../../core/test/reports/fixture.ts';
import { ROOT, runCli } from './helpers.ts';

const HOSTILE =
  'evil\u001b]0;pwned\u0007\u001b[2J\u001b[1A\r\u009b31m\u001b]8;;https://attacker.example\u001b\\link';

/** Any control character but newline and tab (NO_COLOR is set, so not even colour codes). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-terminal-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('control characters never reach the terminal', () => {
  it('report: a journal whose names carry escape sequences', async () => {
    const journal = makeJournal({ name: HOSTILE });
    journal.hypotheses[0]!.description = HOSTILE;
    const file = join(dir, 'hostile.journal.json');
    await writeFile(file, JSON.stringify(journal));
    const result = await runCli(['report', file, '--out', join(dir, 'out')]);
    expect(result.stdout).toContain('evil');
    expect(result.stdout + result.stderr).not.toMatch(CONTROL);
  });

  it('run and validate: a scenario whose name and hypothesis carry escape sequences', async () => {
    const small = await readFile(join(ROOT, 'test/cli/fixtures/small.yaml'), 'utf8');
    const file = join(ROOT, 'test/cli/fixtures', `hostile-${process.pid}.yaml`);
    // YAML double-quoted strings spell control characters as \e, \a, \x9b.
    const name = '"evil\\e]0;pwned\\a\\e[2J\\e[1A\\r\\x9b31m"';
    await writeFile(
      file,
      small
        .replace(/^name: .*$/m, `name: ${name}`)
        .replace('atLeast: 0.99', `atLeast: 1\n    description: ${name}`),
    );
    try {
      const run = await runCli(['run', file, '--out', join(dir, 'run')]);
      expect(run.stdout, run.stderr).toContain('evil');
      expect(run.stdout + run.stderr).not.toMatch(CONTROL);
      const validate = await runCli(['validate', file]);
      expect(validate.stdout + validate.stderr).not.toMatch(CONTROL);
    } finally {
      await rm(file, { force: true });
    }
  }, 60_000);
});
