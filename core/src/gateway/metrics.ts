import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Router } from '../runtime/router.ts';
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
      for (const tenant of new Set(tenants()))
        all.push(...(await router.budgets.snapshot(tenant)).map((s) => ({ ...s, tenant })));
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
