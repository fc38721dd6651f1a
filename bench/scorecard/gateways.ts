/**
 * The two gateways the scorecard grades, each configured from a scenario's router config, with its
 * upstreams pointed at the chaos proxy of `switchyard run --against`:
 *
 * - Switchyard's gateway (`switchyard gateway --config`): the scenario's router config itself, its
 *   deployments' base URLs replaced by the proxy's. It routes exactly as the in-process router did.
 * - Portkey's (`@portkey-ai/gateway`): the same routes as a Portkey config sent in `x-portkey-config`
 *   (one conditional router choosing the route by the model asked, each route a fallback chain of
 *   its deployments then its fallbacks, each target retried as the router's retry policy says, on
 *   429 and 5xx, with `use_retry_after_header`). What Portkey has no setting for — breakers, hedging,
 *   budgets, the retry budget, a first-token or idle timeout, the response cache — is left out: the
 *   scorecard shows what that costs.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RouterConfig } from '@switchyard/core';
import { parse, stringify } from 'yaml';

/** The key every upstream call carries (the simulator behind the proxy accepts any). */
export const UPSTREAM_KEY = 'sk-scorecard-not-a-real-key';
export const UPSTREAM_KEY_ENV = 'SCORECARD_UPSTREAM_KEY';

type Wire = 'openai' | 'anthropic' | 'ollama';
const wireOf = (provider: string): Wire =>
  provider === 'anthropic' ? 'anthropic' : provider === 'ollama' ? 'ollama' : 'openai';

/** Where each provider's SDK reaches the proxy (the SDKs add /v1/messages, /api/chat themselves). */
function switchyardBaseUrl(provider: Wire, proxy: string): string {
  return provider === 'openai' ? `${proxy}/v1` : proxy;
}

/** The router config a scenario names, as written (inline, or the file its `router: { path }` names). */
export function rawRouterOf(scenarioFile: string): Record<string, unknown> {
  const scenario = parse(readFileSync(scenarioFile, 'utf8')) as { router?: Record<string, unknown> };
  const router = scenario.router ?? {};
  if (typeof router.path !== 'string') return router;
  return parse(readFileSync(resolve(dirname(scenarioFile), router.path), 'utf8')) as Record<string, unknown>;
}

/** `switchyard gateway --config` text: the scenario's router config with its upstreams on the proxy. */
export function switchyardGatewayConfig(scenarioFile: string, proxy: string): string {
  const router = rawRouterOf(scenarioFile);
  const deployments = (router.deployments as Array<Record<string, unknown>>).map((d) => ({
    ...d,
    baseURL: switchyardBaseUrl(wireOf(String(d.provider)), proxy),
    ...(d.provider === 'ollama' ? {} : { apiKey: { env: UPSTREAM_KEY_ENV } }),
  }));
  return stringify({ ...router, deployments, gateway: { drainMs: 1000 } });
}

/** Portkey's base URL for a provider: its OpenAI and Anthropic providers add /chat/completions, /messages. */
function portkeyHost(provider: Wire, proxy: string): string {
  return provider === 'ollama' ? proxy : `${proxy}/v1`;
}

/**
 * The Portkey config for a scenario's router: per route, a fallback chain of its deployments then its
 * fallbacks; each target retried `maxAttempts - 1` times on 429 and 5xx, honouring Retry-After as far
 * as Portkey does (`use_retry_after_header`), within the router's per-attempt timeout.
 */
export function portkeyConfig(router: RouterConfig, proxy: string): Record<string, unknown> {
  const byId = new Map(router.deployments.map((d) => [d.id, d]));
  const retry = {
    attempts: Math.max(0, router.policies.retry.maxAttempts - 1),
    on_status_codes: [429, 500, 502, 503, 504, 529],
    use_retry_after_header: true,
  };
  const routeTargets = router.routes.map((route) => ({
    name: route.name,
    strategy: { mode: 'fallback' },
    targets: [...route.deployments, ...(route.fallbacks ?? [])].map((id) => {
      const d = byId.get(id)!;
      const provider = wireOf(d.provider);
      return {
        provider,
        ...(provider === 'ollama' ? {} : { api_key: UPSTREAM_KEY }),
        custom_host: portkeyHost(provider, proxy),
        override_params: { model: d.model },
        retry,
        request_timeout: router.policies.timeouts.attemptMs,
      };
    }),
  }));
  const defaultRoute = router.defaultRoute ?? router.routes[0]!.name;
  return {
    strategy: {
      mode: 'conditional',
      conditions: router.routes.map((route) => ({
        query: { 'params.model': { $eq: route.name } },
        // biome-ignore lint/suspicious/noThenProperty: Portkey's conditional router names its branch `then`.
        then: route.name,
      })),
      default: defaultRoute,
    },
    targets: routeTargets,
  };
}
