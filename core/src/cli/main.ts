#!/usr/bin/env node
/**
 * The `switchyard` command. This file only wires the commands; each lives in ./commands/.
 * Exit codes: 0 ok, 1 a hypothesis failed, 2 bad input or config, 130 interrupted.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerCompare } from './commands/compare.ts';
import { registerGateway } from './commands/gateway.ts';
import { registerInit } from './commands/init.ts';
import { registerRecord } from './commands/record.ts';
import { registerReport } from './commands/report.ts';
import { registerRun } from './commands/run.ts';
import { registerServe } from './commands/serve.ts';
import { registerValidate } from './commands/validate.ts';
import { CliError, EXIT, err, paint, printIssues } from './shared/output.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command()
  .name('switchyard')
  .description('Route LLM calls across providers, and prove with chaos scenarios that the routing survives.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(paint('red', text, process.stderr)) })
  // Usage errors are bad input (2), not a failed run (1): commander's own exits go through here.
  .exitOverride();

registerRun(program);
registerValidate(program);
registerInit(program);
registerCompare(program);
registerServe(program);
registerGateway(program);
registerRecord(program);
registerReport(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    const helpOrVersion = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(
      error.code,
    );
    process.exitCode = helpOrVersion ? EXIT.ok : EXIT.badInput;
  } else if (error instanceof CliError) {
    printIssues(error.issues);
    if (error.message) err(paint('red', `switchyard: ${error.message}`, process.stderr));
    process.exitCode = error.exitCode;
  } else {
    err(
      paint(
        'red',
        `switchyard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        process.stderr,
      ),
    );
    process.exitCode = EXIT.badInput;
  }
}
