import { type ChildProcess, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/reports/atomic.ts';
import { JournalError } from '../../src/reports/schema.ts';
import {
  readJournal,
  reportBaseName,
  startJournal,
  writeReports,
  writeSummary,
} from '../../src/reports/write.ts';
import { makeJournal } from './fixture.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-reports-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tempFiles = async (d: string) => (await readdir(d)).filter((f) => f.endsWith('.tmp'));

describe('writeReports', () => {
  it('writes the journal and the three reports under the scenario slug, and the journal reads back', async () => {
    const journal = makeJournal({ name: 'Primary 503 outage: with failover!' });
    const { files } = await writeReports(journal, join(dir, 'nested', 'out'));
    expect(files.journal).toBe(join(dir, 'nested', 'out', 'primary-503-outage-with-failover.journal.json'));
    expect(files.junit.endsWith('primary-503-outage-with-failover.junit.xml')).toBe(true);
    expect(files.markdown.endsWith('primary-503-outage-with-failover.md')).toBe(true);
    expect(files.html.endsWith('primary-503-outage-with-failover.html')).toBe(true);
    for (const path of Object.values(files)) expect((await stat(path)).size).toBeGreaterThan(100);
    expect(await readJournal(files.journal)).toEqual(journal);
    expect(await tempFiles(join(dir, 'nested', 'out'))).toEqual([]);
  });

  it('rejects an invalid journal before writing anything, naming the field', async () => {
    const journal = makeJournal();
    (journal.requests[3] as { latencyMs: unknown }).latencyMs = 'slow';
    await expect(writeReports(journal, dir)).rejects.toThrow(
      /requests\[3\]\.latencyMs|requests\.3\.latencyMs/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes a summary: Markdown, JUnit with a testsuite per scenario, and an index linking each report', async () => {
    const journals = [makeJournal(), makeJournal({ seed: 3, name: 'Anthropic overloaded' })];
    for (const j of journals) await writeReports(j, dir);
    const { files } = await writeSummary(journals, dir);
    const index = await readFile(files.html, 'utf8');
    for (const j of journals) {
      expect(index).toContain(`href="${reportBaseName(j)}.html"`);
      await stat(join(dir, `${reportBaseName(j)}.html`));
    }
    expect((await readFile(files.junit, 'utf8')).match(/<testsuite /g)).toHaveLength(2);
    expect(await readFile(files.markdown, 'utf8')).toContain('Anthropic overloaded');
  });

  it('refuses a summary in which two runs would overwrite each other’s reports', async () => {
    await expect(writeSummary([makeJournal(), makeJournal({ seed: 9 })], dir)).rejects.toThrow(
      /share the report name/,
    );
  });
});

describe('atomic writes', () => {
  it('leaves the old file intact and no temp file when the rename fails', async () => {
    const target = join(dir, 'report.journal.json');
    await writeFile(target, 'old');
    // A non-empty directory cannot be replaced by a file: the rename step fails.
    const blocked = join(dir, 'blocked');
    await mkdir(blocked);
    await writeFile(join(blocked, 'x'), 'x');
    await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow();
    expect(await readFile(join(blocked, 'x'), 'utf8')).toBe('x');
    expect(await tempFiles(dir)).toEqual([]);
    await writeFileAtomic(target, 'new');
    expect(await readFile(target, 'utf8')).toBe('new');
  });

  it('never leaves a torn journal when the writing process is killed mid-write', async () => {
    const journalPath = join(dir, `${reportBaseName(makeJournal())}.journal.json`);
    let killedMidWrite = 0;
    // Kill after a few writes, as soon as the writer touches the directory again: inside a write.
    for (const afterWrites of [1, 2, 3, 5]) {
      const child = spawnWriter(dir, 'checkpoint');
      await child.waitFor(`checkpoint ${afterWrites}`);
      await new Promise<void>((resolve) => {
        const watcher = watch(dir, () => {
          child.process.kill('SIGKILL');
          watcher.close();
          resolve();
        });
      });
      await child.exited;
      const journal = await readJournal(journalPath);
      expect(journal.status).toBe('incomplete');
      expect(journal.verdict).toBe('incomplete');
      const leftovers = await tempFiles(dir);
      if (leftovers.length) killedMidWrite++;
      for (const f of leftovers) await rm(join(dir, f));
    }
    // A leftover temp file shows the kill landed inside a write, so the test exercised that case.
    expect(killedMidWrite).toBeGreaterThan(0);
  }, 60_000);

  it('keeps the previous complete journal, or the new incomplete one, when a second run is killed', async () => {
    const journalPath = join(dir, `${reportBaseName(makeJournal())}.journal.json`);
    const child = spawnWriter(dir, 'final');
    await child.waitFor('final');
    child.process.kill('SIGKILL');
    await child.exited;
    const journal = await readJournal(journalPath);
    expect(['complete', 'incomplete']).toContain(journal.status);
    if (journal.status === 'complete') expect(journal.runId).not.toBe('second-run');
    else expect(journal.runId).toBe('second-run');
  }, 60_000);
});

describe('startJournal', () => {
  it('writes an incomplete journal at once, checkpoints it, and replaces it with the complete one', async () => {
    const full = makeJournal();
    const writer = await startJournal(dir, full);
    let read = await readJournal(writer.path);
    expect(read).toMatchObject({ status: 'incomplete', verdict: 'incomplete', requests: [], hypotheses: [] });
    expect(read.wall.finishedAt).toBeUndefined();

    await writer.checkpoint({ requests: full.requests.slice(0, 10), durationMs: 20_000 });
    await writer.checkpoint({ breakerTransitions: full.breakerTransitions.slice(0, 1) });
    read = await readJournal(writer.path);
    expect(read.status).toBe('incomplete');
    expect(read.requests).toHaveLength(10);
    expect(read.durationMs).toBe(20_000);
    expect(read.breakerTransitions).toHaveLength(1);

    const { files } = await writer.finish(full);
    expect(files.journal).toBe(writer.path);
    expect(await readJournal(writer.path)).toEqual(full);
    await expect(writer.checkpoint({})).rejects.toThrow(/already final/);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('keeps checkpoints in call order even when they are not awaited', async () => {
    const full = makeJournal();
    const writer = await startJournal(dir, full);
    const pending = [1, 2, 3, 4, 5].map((n) =>
      writer.checkpoint({ requests: full.requests.slice(0, n * 40) }),
    );
    await Promise.all(pending);
    expect((await readJournal(writer.path)).requests).toHaveLength(200);
  });

  it('writes incomplete reports for an interrupted run', async () => {
    const full = makeJournal();
    const writer = await startJournal(dir, full);
    await writer.checkpoint({ requests: full.requests.slice(0, 50) });
    const { files } = await writer.interrupt({ durationMs: 100_000 });
    const journal = await readJournal(files.journal);
    expect(journal).toMatchObject({ status: 'incomplete', verdict: 'incomplete', durationMs: 100_000 });
    expect(journal.requests).toHaveLength(50);
    expect(await readFile(files.junit, 'utf8')).toContain('type="incomplete"');
    expect(await readFile(files.markdown, 'utf8')).toContain('Incomplete');
  });
});

describe('readJournal', () => {
  it('rejects a truncated journal with a clear error', async () => {
    const { files } = await writeReports(makeJournal(), dir);
    const size = (await stat(files.journal)).size;
    await truncate(files.journal, Math.floor(size / 2));
    const error = await readJournal(files.journal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalError);
    expect((error as Error).message).toContain(files.journal);
    expect((error as Error).message).toMatch(/not valid JSON — truncated or corrupted/);
  });

  it('rejects an empty file, a missing file, a wrong schema version and a wrong shape', async () => {
    const path = join(dir, 'x.journal.json');
    await writeFile(path, '');
    await expect(readJournal(path)).rejects.toThrow(/the file is empty/);
    await expect(readJournal(join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
    await writeFile(path, JSON.stringify({ ...makeJournal(), schemaVersion: 3 }));
    await expect(readJournal(path)).rejects.toThrow(/schema version 3 is not supported/);
    const { verdict: _dropped, ...noVerdict } = makeJournal();
    await writeFile(path, JSON.stringify(noVerdict));
    await expect(readJournal(path)).rejects.toThrow(/not a valid run journal[\s\S]*verdict/);
  });
});

function spawnWriter(outDir: string, mode: 'checkpoint' | 'final') {
  const script = fileURLToPath(new URL('./writer-child.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script, outDir, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.filter((w) => out.includes(`${w.line}\n`))) w.resolve();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    process: child,
    exited,
    waitFor: (line: string) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(`${line}\n`)) return resolve();
        waiters.push({ line, resolve });
        void exited.then(() => reject(new Error(`writer exited before "${line}": ${err}`)));
      }),
  };
}
