/**
 * Run as a child process by write.test.ts: starts a journal, then checkpoints a large and growing
 * journal as fast as it can until the parent kills it with SIGKILL. Prints a line per write.
 */
import { startJournal } from '../../src/reports/write.ts';
import { makeJournal } from './fixture.ts';

const [outDir, mode] = process.argv.slice(2) as [string, 'checkpoint' | 'final'];
const big = makeJournal({ requests: 6_000, durationMs: 3_600_000 });
const writer = await startJournal(outDir, big);
process.stdout.write('started\n');
if (mode === 'final') {
  // The complete journal first, then incomplete rewrites of a different run over it.
  await writer.finish(big);
  process.stdout.write('final\n');
  const again = await startJournal(outDir, { ...big, runId: 'second-run' });
  for (let n = 1; ; n++) {
    await again.checkpoint({ requests: big.requests.slice(0, (n * 997) % big.requests.length) });
    process.stdout.write(`checkpoint ${n}\n`);
  }
}
for (let n = 1; ; n++) {
  await writer.checkpoint({
    requests: big.requests.slice(0, (n * 997) % big.requests.length),
    durationMs: n,
  });
  process.stdout.write(`checkpoint ${n}\n`);
}
