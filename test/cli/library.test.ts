import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

/** The shipped library's conventions: editors find the schema, and every scenario says what it proves. */
describe('scenarios/', () => {
  it('holds at least 15 scenarios, each pointing at the schema and describing what it proves', async () => {
    const dir = join(ROOT, 'scenarios');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith('router.'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      expect(text.split('\n')[0], file).toBe('# yaml-language-server: $schema=./scenario.schema.json');
      expect(text, file).toContain('\n$schema: ./scenario.schema.json\n');
      const description = /\ndescription: >-\n((?: {2}.*\n)+)/.exec(text)?.[1] ?? '';
      expect(description, file).toContain('Proves');
    }
  });
});
