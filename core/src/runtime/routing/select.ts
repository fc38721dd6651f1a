import type { DeploymentConfig, RouteConfig, RouterConfig } from '../config/schema.ts';
import type { ChatRequest } from '../types.ts';

/** The route a request takes: named by `request.model`, matched by task/tier/tags, or the default. */
export function resolveRoute(config: RouterConfig, request: ChatRequest): RouteConfig {
  if (request.model) {
    const named = config.routes.find((r) => r.name === request.model);
    if (named) return named;
    // A deployment id (or model name) addresses one deployment directly.
    const direct = config.deployments.find((d) => d.id === request.model || d.model === request.model);
    if (direct) return syntheticRoute(direct.id, [direct.id]);
  }
  const matched = config.routes.find((r) => r.match && routeMatches(r, request));
  if (matched) return matched;
  const byDefault = config.routes.find((r) => r.name === config.defaultRoute) ?? config.routes[0];
  if (byDefault) return byDefault;
  return syntheticRoute(
    'all',
    config.deployments.map((d) => d.id),
  );
}

function routeMatches(route: RouteConfig, request: ChatRequest): boolean {
  const match = route.match!;
  if (match.task !== undefined && match.task !== request.task) return false;
  if (match.tier !== undefined && match.tier !== request.tier) return false;
  if (match.tags && !match.tags.every((tag) => request.tags?.includes(tag))) return false;
  return true;
}

function syntheticRoute(name: string, deployments: string[]): RouteConfig {
  return {
    name,
    strategy: 'ordered',
    deployments,
    fallbacks: [],
    onContextOverflow: [],
    onContentFiltered: [],
  };
}

export interface StrategyInputs {
  random: () => number;
  /** Per-route round-robin counter, advanced by the caller. */
  roundRobinIndex: number;
  /** EWMA latency per deployment id (undefined: no samples yet). */
  latencyMs: (id: string) => number | undefined;
  /** Estimated cost of this request on a deployment (USD). */
  costUsd: (deployment: DeploymentConfig) => number | undefined;
}

/**
 * Orders a route's deployments by its strategy. The order is the try order: the first is the
 * primary, the rest follow if it fails; the route's `fallbacks` come after all of them.
 */
export function orderDeployments(
  route: RouteConfig,
  deployments: DeploymentConfig[],
  inputs: StrategyInputs,
): DeploymentConfig[] {
  const list = [...deployments];
  switch (route.strategy) {
    case 'ordered':
      return list;
    case 'round-robin': {
      const start = list.length === 0 ? 0 : inputs.roundRobinIndex % list.length;
      return [...list.slice(start), ...list.slice(0, start)];
    }
    case 'weighted':
      return weightedOrder(list, inputs.random);
    case 'least-latency': {
      // Unmeasured deployments go first so that every deployment gets sampled.
      const key = (d: DeploymentConfig) => inputs.latencyMs(d.id) ?? -1;
      return list.sort((a, b) => key(a) - key(b));
    }
    case 'lowest-cost': {
      const key = (d: DeploymentConfig) => inputs.costUsd(d) ?? Number.POSITIVE_INFINITY;
      return list.sort((a, b) => key(a) - key(b));
    }
  }
}

/** Weighted random order without replacement (each pick proportional to the remaining weights). */
function weightedOrder(list: DeploymentConfig[], random: () => number): DeploymentConfig[] {
  const remaining = [...list];
  const ordered: DeploymentConfig[] = [];
  while (remaining.length > 0) {
    const total = remaining.reduce((sum, d) => sum + d.weight, 0);
    let index = remaining.length - 1;
    if (total > 0) {
      let pick = random() * total;
      for (let i = 0; i < remaining.length; i++) {
        pick -= remaining[i]!.weight;
        if (pick < 0) {
          index = i;
          break;
        }
      }
    }
    ordered.push(remaining.splice(index, 1)[0]!);
  }
  return ordered;
}
