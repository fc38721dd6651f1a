import type { Command } from 'commander';
import type { ConfigIssue } from '../../runtime/config/errors.ts';
import type { Scenario } from '../../scenarios/index.ts';
import { collectFiles, displayPath, type FoundFile } from '../shared/files.ts';
import { CliError, EXIT, err, issuesOf, out, paint, printIssues } from '../shared/output.ts';

export interface Checked {
  file: FoundFile;
  /** Shown in messages: relative to cwd when possible. */
  name: string;
  scenario?: Scenario;
  issues: ConfigIssue[];
}

/** Loads every scenario (and its router config) and every router config among `paths`. */
export async function checkFiles(paths: readonly string[]): Promise<Checked[]> {
  const { loadRouterConfig } = await import('../../runtime/config/load.ts');
  const files = await collectFiles(paths);
  // Loaded on use: the scenarios entry pulls in the runner and the SDKs, which --help does not need.
  const { loadScenario } = await import('../../scenarios/index.ts');
  const checked: Checked[] = [];
  for (const file of files) {
    const name = displayPath(file.path);
    try {
      if (file.kind === 'router') {
        await loadRouterConfig(name);
        checked.push({ file, name, issues: [] });
      } else {
        checked.push({ file, name, scenario: await loadScenario(name), issues: [] });
      }
    } catch (error) {
      checked.push({ file, name, issues: issuesOf(error, name) });
    }
  }
  return checked;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'Check scenario files and router configs; print every problem as file:line:column field: message',
    )
    .argument('[paths...]', 'scenario files or folders (searched recursively)', ['scenarios'])
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nExit codes: 0 all valid, 2 any problem.')
    .action(async (paths: string[], options: { json?: boolean }) => {
      const checked = await checkFiles(paths);
      const issues = checked.flatMap((c) => c.issues);
      if (options.json) {
        out(
          JSON.stringify(
            {
              valid: issues.length === 0,
              files: checked.map((c) => ({
                file: c.name,
                kind: c.file.kind,
                valid: c.issues.length === 0,
                ...(c.scenario
                  ? { scenario: c.scenario.name, hypotheses: c.scenario.hypotheses.length }
                  : {}),
                issues: c.issues,
              })),
            },
            null,
            2,
          ),
        );
      } else {
        for (const c of checked) {
          if (c.issues.length > 0) continue;
          const what = c.scenario ? `scenario "${c.scenario.name}"` : 'router config';
          out(`${paint('green', '✓')} ${c.name} ${paint('dim', what)}`);
        }
        printIssues(issues);
        const bad = checked.filter((c) => c.issues.length > 0).length;
        if (checked.length === 0) err('no scenario files found');
        else
          err(
            bad === 0
              ? paint('green', `${checked.length} file(s) valid`, process.stderr)
              : paint(
                  'red',
                  `${bad} of ${checked.length} file(s) invalid, ${issues.length} problem(s)`,
                  process.stderr,
                ),
          );
      }
      if (checked.length === 0) throw new CliError('no scenario files found', EXIT.badInput);
      if (issues.length > 0) process.exitCode = EXIT.badInput;
    });
}
