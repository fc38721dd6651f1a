import { writeFileSync } from 'node:fs';

/**
 * What one run of one benchmark hands back to bench/run.ts: numeric metrics (the orchestrator takes
 * the median over repeated runs) plus pass/fail checks and free-form notes.
 */
export interface BenchResult {
  metrics: Record<string, number>;
  /** Invariants the run asserted (e.g. "no request lost"); any false fails `npm run bench`. */
  checks: Record<string, boolean>;
  notes?: Record<string, unknown>;
}

/** Writes the result where the orchestrator asked (BENCH_OUT), or prints it when run by hand. */
export function emit(result: BenchResult): void {
  const out = process.env.BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

/** Full GC when the process was started with --expose-gc (the orchestrator does), else a no-op. */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * The process's peak resident set size so far, in bytes: the kernel's high-water mark (getrusage
 * ru_maxrss), so a spike between two samples (a GC growing the heap inside a synchronous loop) counts.
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
