/** Selecting requests (phase, filter), reading their paths and chains, and formatting figures: what the checks share. */
import type { RouterConfig } from '../../runtime/config/schema.ts';
import { ERROR_KIND_DEFAULTS, ERROR_KINDS, type ErrorKind } from '../../runtime/errors.ts';
import type { AttemptSummary, FaultWindow, RequestRecord } from '../journal.ts';
import type { Phase, RequestFilter } from '../schema.ts';
import type { JournalParts } from './check.ts';

/** Requests whose start falls in the phase; before/during/after refer to the union of fault windows. */
export function inPhase(requests: RequestRecord[], windows: FaultWindow[], phase: Phase): RequestRecord[] {
  if (phase === 'overall') return requests;
  if (windows.length === 0) return phase === 'before' ? requests : [];
  const first = Math.min(...windows.map((w) => w.fromMs));
  const last = Math.max(...windows.map((w) => w.toMs));
  const during = (t: number) => windows.some((w) => t >= w.fromMs && t < w.toMs);
  return requests.filter((r) =>
    phase === 'before' ? r.startMs < first : phase === 'after' ? r.startMs >= last : during(r.startMs),
  );
}

export function matches(request: RequestRecord, filter: RequestFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.tags && !filter.tags.every((t) => request.tags.includes(t))) return false;
  if (filter.tenant !== undefined && request.tenant !== filter.tenant) return false;
  if (filter.route !== undefined && request.route !== filter.route) return false;
  if (filter.stream !== undefined && request.stream !== filter.stream) return false;
  return true;
}

export const pct = (x: number) => `${(x * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
export const ms = (x: number) => `${Math.round(x)} ms`;
export const usd = (x: number) => `$${x.toFixed(6)}`;

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Deployments tried, in order, with repeats from retries collapsed. */
export function pathOf(request: RequestRecord): string[] {
  const path: string[] = [];
  for (const attempt of request.attempts)
    if (path.at(-1) !== attempt.deployment) path.push(attempt.deployment);
  return path;
}

/** The deployments a request on this route may use, in order: the route's own, then its fallbacks. */
export function chainOf(config: RouterConfig, routeName: string): string[] {
  const route = config.routes.find((r) => r.name === routeName);
  if (route) return [...new Set([...route.deployments, ...route.fallbacks])];
  // A request naming a deployment directly, or the synthetic route over every deployment.
  if (config.deployments.some((d) => d.id === routeName)) return [routeName];
  return config.deployments.map((d) => d.id);
}

/** The special chains a request's errors opened (context overflow, content filtered). */
export function specialChainsOf(config: RouterConfig, request: RequestRecord): string[] {
  const route = config.routes.find((r) => r.name === request.route);
  if (!route) return [];
  const kinds = new Set(request.attempts.map((a) => a.errorKind));
  return [
    ...(kinds.has('context_overflow') ? route.onContextOverflow : []),
    ...(kinds.has('content_filtered') ? route.onContentFiltered : []),
  ];
}

/** The wait a throttled attempt was asked for: as the provider sent it, else as the router read it. */
export const retryAfterOf = (a: AttemptSummary): number | undefined => a.retryAfterSentMs ?? a.retryAfterMs;

/** Kinds a router must not retry on the same deployment: not retryable by default, minus the rewrite case. */
export function defaultNonRetryableKinds(): ErrorKind[] {
  return ERROR_KINDS.filter(
    (kind) =>
      !ERROR_KIND_DEFAULTS[kind].retryable &&
      // A rejected parameter is retried once with the parameter rewritten: that is the fix, not a retry.
      kind !== 'unsupported_parameter' &&
      kind !== 'cancelled',
  );
}

export function deploymentsOf(
  selected: RequestRecord[],
  parts: JournalParts,
  only: string | undefined,
): string[] {
  if (only) return [only];
  const ids = new Set<string>();
  for (const r of selected) for (const a of r.attempts) ids.add(a.deployment);
  for (const t of parts.breakerTransitions) ids.add(t.deployment);
  return [...ids].sort();
}
