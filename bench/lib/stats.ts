/** Small statistics helpers shared by the benchmarks (no dependency: figures must be auditable). */

/** Nearest-rank percentile of an unsorted sample (p in [0, 100]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Relative spread of repeated measurements: (max - min) / median, as a percentage. */
export function spreadPct(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  if (m === 0) return 0;
  return ((Math.max(...values) - Math.min(...values)) / Math.abs(m)) * 100;
}

export const mib = (bytes: number): number => bytes / (1024 * 1024);

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
