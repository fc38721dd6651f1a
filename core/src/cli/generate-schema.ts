#!/usr/bin/env node
/**
 * Writes scenarios/scenario.schema.json from the scenario schema (`npm run schema`), so editors
 * validate scenario files through their `$schema` line. `--check` only compares, exiting 1 when
 * the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { schemaText } from './commands/init.ts';

const args = process.argv.slice(2);
const check = args.includes('--check');
const outIndex = args.indexOf('--out');
const target =
  outIndex >= 0 && args[outIndex + 1]
    ? resolve(args[outIndex + 1]!)
    : resolve(import.meta.dirname, '../../../scenarios/scenario.schema.json');

const fresh = await schemaText();
if (check) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== fresh) {
    process.stderr.write(`${target} is stale: run \`npm run schema\`\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${target} is up to date\n`);
  }
} else {
  await writeFile(target, fresh);
  process.stdout.write(`wrote ${target}\n`);
}
