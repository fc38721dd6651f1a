import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { writeSummary } from '../../reports/index.ts';
import type { RunJournal } from '../../scenarios/index.ts';
import { displayPath } from '../shared/files.ts';
import { CliError, EXIT, out, paint } from '../shared/output.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Re-render the JUnit, Markdown and HTML reports of past runs from their journals')
    .argument('<journals...>', 'run journals (<scenario>.journal.json)')
    .option('--out <dir>', 'where to write (default: next to each journal)')
    .option('--json', 'print the written files as JSON on stdout')
    .action(async (paths: string[], options: { out?: string; json?: boolean }) => {
      const { readJournal, writeReports, writeSummary } = await import('../../reports/index.ts');
      const journals: Array<{ path: string; journal: RunJournal }> = [];
      const problems: string[] = [];
      for (const path of paths) {
        try {
          journals.push({ path: resolve(path), journal: await readJournal(path) });
        } catch (error) {
          problems.push(error instanceof Error ? error.message : String(error));
        }
      }
      if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT.badInput);
      const written = [];
      for (const { path, journal } of journals) {
        const outDir = options.out ? resolve(options.out) : dirname(path);
        const { files } = await writeReports(journal, outDir);
        written.push({ scenario: journal.scenario.name, verdict: journal.verdict, files });
        if (!options.json)
          out(
            `${paint('green', 'rendered')} ${journal.scenario.name} (${journal.verdict}) → ${displayPath(files.html)}`,
          );
      }
      // A summary needs one folder for all reports: --out, or journals that already share one.
      const dirs = new Set(journals.map(({ path }) => (options.out ? resolve(options.out) : dirname(path))));
      let summary: Awaited<ReturnType<typeof writeSummary>>['files'] | undefined;
      if (journals.length > 1 && dirs.size === 1) {
        summary = (
          await writeSummary(
            journals.map((j) => j.journal),
            [...dirs][0]!,
          )
        ).files;
        if (!options.json) out(`${paint('green', 'summary')} ${displayPath(summary.html)}`);
      }
      if (options.json) out(JSON.stringify({ reports: written, ...(summary ? { summary } : {}) }, null, 2));
    });
}
