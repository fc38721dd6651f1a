import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Router } from '../runtime/router.ts';
import type { RedisStoreEvent } from '../runtime/state/redis.ts';
import type { DecisionTrace } from '../runtime/trace/trace.ts';

/**
 * The gateway's Prometheus metrics (prom-client), in a registry of its own so that several gateways
 * in one process (tests) do not share counters. Requests and attempts are counted from decision
 * traces, by route × deployment × outcome × error kind; breaker states and budgets are read from the
 * router when Prometheus scrapes, so they are never stale.
 */
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
const NONE = 'none';

/** Request latency buckets, seconds: a cached answer (ms) to a long stream (minutes). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'endpoint' | 'route' | 'deployment' | 'outcome' | 'error_kind'>;
  readonly #attempts: Counter<'route' | 'deployment' | 'outcome' | 'error_kind'>;
  readonly #latency: Histogram<'route' | 'deployment' | 'outcome'>;
  readonly #ttft: Histogram<'route' | 'deployment' | 'stream'>;
  readonly #cost: Counter<'route' | 'deployment' | 'tenant'>;
  readonly #wasted: Counter<'route' | 'tenant'>;
  readonly #cache: Counter<'route' | 'result'>;
  readonly #inFlight: Gauge<'endpoint'>;
  readonly #stateFallbacks: Counter<'kind' | 'operation' | 'policy'>;
  readonly #stateUp: Gauge;

  constructor(router: Router, tenants: () => Iterable<string>) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'switchyard_gateway_' });
    this.#requests = new Counter({
      name: 'switchyard_gateway_requests_total',
      help: 'Requests answered, by endpoint, route, final deployment, outcome (success, error, rejected) and error kind',
      labelNames: ['endpoint', 'route', 'deployment', 'outcome', 'error_kind'],
      registers: [registry],
    });
    this.#attempts = new Counter({
      name: 'switchyard_gateway_attempts_total',
      help: 'Upstream attempts, by route, deployment, outcome (success, error, aborted) and error kind',
      labelNames: ['route', 'deployment', 'outcome', 'error_kind'],
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'switchyard_gateway_request_duration_seconds',
      help: 'Time from request to the last byte of the answer, by route, final deployment and outcome',
      labelNames: ['route', 'deployment', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#ttft = new Histogram({
      name: 'switchyard_gateway_time_to_first_token_seconds',
      help: 'Time from request to the first token sent to the caller (whole answer for non-streamed calls)',
      labelNames: ['route', 'deployment', 'stream'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#cost = new Counter({
      name: 'switchyard_gateway_cost_usd_total',
      help: 'Spend on upstream attempts in USD, by route, deployment and tenant',
      labelNames: ['route', 'deployment', 'tenant'],
      registers: [registry],
    });
    this.#wasted = new Counter({
      name: 'switchyard_gateway_wasted_usd_total',
      help: 'Spend that produced nothing used (hedge losers, streams cut part-way), USD',
      labelNames: ['route', 'tenant'],
      registers: [registry],
    });
    this.#cache = new Counter({
      name: 'switchyard_gateway_cache_requests_total',
      help: 'Response cache lookups, by route and result (hit, miss, coalesced)',
      labelNames: ['route', 'result'],
      registers: [registry],
    });
    this.#inFlight = new Gauge({
      name: 'switchyard_gateway_in_flight_requests',
      help: 'Requests being answered now, by endpoint',
      labelNames: ['endpoint'],
      registers: [registry],
    });
    this.#stateFallbacks = new Counter({
      name: 'switchyard_gateway_state_fallbacks_total',
      help: 'State operations answered without the shared store (unreachable), by kind of state, operation and policy (local, closed, open)',
      labelNames: ['kind', 'operation', 'policy'],
      registers: [registry],
    });
    this.#stateUp = new Gauge({
      name: 'switchyard_gateway_state_store_up',
      help: 'Whether the shared state store answers: 1 yes (or no shared store), 0 no (fallbacks in force)',
      registers: [registry],
    });
    this.#stateUp.set(1);
    const breakerIds = router.config.deployments.map((d) => d.id);
    new Gauge({
      name: 'switchyard_gateway_breaker_state',
      help: 'Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open',
      labelNames: ['deployment'],
      registers: [registry],
      async collect() {
        for (const id of breakerIds)
          this.set({ deployment: id }, BREAKER_VALUE[await router.breakers.state(id)]);
      },
    });
    const budgetLabels = ['tenant', 'budget', 'period'] as const;
    const snapshots = async () => {
      const all = [];
      // While a shared store is unreachable and budgets fail closed, the ledger is unknown: no
      // series rather than a failed scrape (state_store_up says why).
      for (const tenant of new Set(tenants()))
        all.push(...(await router.budgets.snapshot(tenant).catch(() => [])).map((s) => ({ ...s, tenant })));
      return all;
    };
    new Gauge({
      name: 'switchyard_gateway_budget_spent_usd',
      help: 'Spend charged to each tenant budget in its current period, USD',
      labelNames: budgetLabels,
      registers: [registry],
      async collect() {
        for (const s of await snapshots())
          this.set({ tenant: s.tenant, budget: s.budget, period: s.period }, s.spentUsd);
      },
    });
    new Gauge({
      name: 'switchyard_gateway_budget_remaining_usd',
      help: 'What is left of each tenant budget in its current period (open reservations held back), USD',
      labelNames: budgetLabels,
      registers: [registry],
      async collect() {
        for (const s of await snapshots())
          this.set({ tenant: s.tenant, budget: s.budget, period: s.period }, s.remainingUsd);
      },
    });
  }

  /** What the shared state store reported: a fallback, or the store going away or coming back. */
  state(event: RedisStoreEvent): void {
    if (event.type === 'fallback')
      this.#stateFallbacks.inc({ kind: event.kind, operation: event.operation, policy: event.policy });
    else this.#stateUp.set(event.type === 'up' ? 1 : 0);
  }

  /** A request was taken in; call the returned function when its answer has been sent. */
  enter(endpoint: string): () => void {
    this.#inFlight.inc({ endpoint });
    return () => this.#inFlight.dec({ endpoint });
  }

  /** A request the router handled: counted from its decision trace. */
  routed(endpoint: string, trace: DecisionTrace, ttftMs: number | undefined): void {
    const route = trace.route;
    const deployment = trace.finalDeployment ?? NONE;
    const outcome = trace.outcome ?? 'error';
    const kind = String(trace.error?.kind ?? NONE);
    const tenant = trace.tenant ?? 'default';
    this.#requests.inc({ endpoint, route, deployment, outcome, error_kind: kind });
    this.#latency.observe(
      { route, deployment, outcome },
      ((trace.endedAt ?? trace.startedAt) - trace.startedAt) / 1000,
    );
    if (ttftMs !== undefined)
      this.#ttft.observe({ route, deployment, stream: String(trace.stream) }, ttftMs / 1000);
    for (const a of trace.attempts) {
      this.#attempts.inc({
        route,
        deployment: a.deployment,
        outcome: a.outcome,
        error_kind: a.errorKind ?? NONE,
      });
      if (a.costUsd > 0) this.#cost.inc({ route, deployment: a.deployment, tenant }, a.costUsd);
    }
    if (trace.wastedUsd > 0) this.#wasted.inc({ route, tenant }, trace.wastedUsd);
    if (trace.cache !== 'off') this.#cache.inc({ route, result: trace.cache });
  }

  /** A request refused before routing (bad key, over its limits, malformed). */
  rejected(endpoint: string, route: string | undefined, code: string): void {
    this.#requests.inc({
      endpoint,
      route: route ?? NONE,
      deployment: NONE,
      outcome: 'rejected',
      error_kind: code,
    });
  }
}
