import type { Command } from 'commander';
import type { ConfigIssue } from '../../runtime/config/errors.ts';
import { DEFAULT_MAX_YAML_BYTES } from '../../runtime/config/limits.ts';
import type { Scenario } from '../../scenarios/index.ts';
import { collectFiles, displayPath, type FoundFile } from '../shared/files.ts';
import { CliError, EXIT, err, intOption, issuesOf, out, paint, printIssues } from '../shared/output.ts';

/** The file-reading flags `run` and `validate` share. */
export interface ReadLimits {
  maxYamlBytes?: number;
  allowOutsideProject?: boolean;
}
export const MAX_YAML_BYTES_OPTION = [
  '--max-yaml-bytes <n>',
  `largest scenario or router config read (default ${DEFAULT_MAX_YAML_BYTES})`,
  intOption('--max-yaml-bytes', 1),
] as const;
export const ALLOW_OUTSIDE_PROJECT_OPTION = [
  '--allow-outside-project',
  'let scenarios name files (router.path, prompt files) outside the current folder and their own',
] as const;

export interface Checked {
  file: FoundFile;
  /** Shown in messages: relative to cwd when possible. */
  name: string;
  scenario?: Scenario;
  issues: ConfigIssue[];
}

/** How files are read: limits (`--max-yaml-bytes`, `--allow-outside-project`) and, for live runs, the keys' environment. */
export interface CheckOptions {
  /** The environment live runs read keys from: an unset key variable is then an issue. */
  env?: Readonly<Record<string, string | undefined>>;
  maxBytes?: number;
  allowOutsideProject?: boolean;
}

/** Loads every scenario (and its router config) and every router config among `paths`. */
export async function checkFiles(paths: readonly string[], options: CheckOptions = {}): Promise<Checked[]> {
  const { loadRouterConfig } = await import('../../runtime/config/load.ts');
  const { env, maxBytes, allowOutsideProject } = options;
  const files = await collectFiles(paths, process.cwd(), maxBytes);
  // Loaded on use: the scenarios entry pulls in the runner and the SDKs, which --help does not need.
  const { loadScenario } = await import('../../scenarios/index.ts');
  const checked: Checked[] = [];
  for (const file of files) {
    const name = displayPath(file.path);
    try {
      if (file.kind === 'router') {
        await loadRouterConfig(name, { env, maxBytes });
        checked.push({ file, name, issues: [] });
      } else {
        checked.push({
          file,
          name,
          scenario: await loadScenario(name, { env, maxBytes, allowOutsideProject }),
          issues: [],
        });
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
    .option(...MAX_YAML_BYTES_OPTION)
    .option(...ALLOW_OUTSIDE_PROJECT_OPTION)
    .addHelpText('after', '\nExit codes: 0 all valid, 2 any problem.')
    .action(async (paths: string[], options: { json?: boolean } & ReadLimits) => {
      const checked = await checkFiles(paths, {
        maxBytes: options.maxYamlBytes,
        allowOutsideProject: options.allowOutsideProject,
      });
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
