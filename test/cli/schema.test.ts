import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

it('the committed scenarios/scenario.schema.json equals a fresh generation (run `npm run schema`)', () => {
  const result = spawnSync(process.execPath, [resolve(ROOT, 'core/src/cli/generate-schema.ts'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});
