/**
 * An external HTTP gateway as a target (`switchyard run --against URL`): LiteLLM, Portkey, a
 * home-made one, in any language. The chaos proxy serves the simulated providers with the scenario's
 * fault timeline on the wall clock; the gateway's upstreams point at it; the load goes to the gateway
 * through the runtime's OpenAI-compatible adapter (the official `openai` SDK, retries off). The
 * gateway routes on its own: each request is seen from the outside (latency, TTFT, outcome, error
 * kind, streamed text) and each upstream call from the provider side, and the two are tied together
 * (attribution.ts). Its internals (breakers, budgets, spend, deadlines, its chain) are not seen.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspectRequest } from '../../../faults/chaos/wire.ts';
import type { Clock } from '../../../runtime/clock.ts';
import type { DeploymentConfig } from '../../../runtime/config/schema.ts';
import { isSwitchyardError } from '../../../runtime/errors.ts';
import type { ProviderAdapter } from '../../../runtime/providers/adapter.ts';
import { createAdapter } from '../../../runtime/providers/index.ts';
import { resolveRoute } from '../../../runtime/routing/select.ts';
import { redactSecrets } from '../../../runtime/scrub.ts';
import { type ChatRequest, wireProviderOf } from '../../../runtime/types.ts';
import { faultCountersOf, scenarioChaos, scenarioSimulator } from '../../harness/faults.ts';
import type { Target } from '../../harness/target.ts';
import type { Unseen } from '../../hypotheses/index.ts';
import type { RequestRecord } from '../../journal.ts';
import type { Scenario } from '../../schema.ts';
import { attribute, type ClientCall, gatewayRecord } from './attribution.ts';
import type { AgainstProxy } from './proxy.ts';
import { REQUEST_ID_HEADER, recordingHandler, type UpstreamCall } from './upstream-log.ts';

export interface GatewayTargetOptions {
  /** The gateway's OpenAI-compatible base URL, e.g. http://127.0.0.1:4000/v1. */
  gatewayUrl: string;
  /** API key sent to the gateway (default a placeholder: most stand-ins need none). */
  apiKey?: string | undefined;
  /** The model name asked of the gateway (default: each request's route name). */
  model?: string | undefined;
  /**
   * Headers sent with every request to the gateway (`run --header`): its virtual key, its routing
   * config (Portkey's x-portkey-config)… Their values are secrets to the harness: never printed.
   */
  headers?: Record<string, string> | undefined;
  /** The chaos proxy the gateway's upstreams point at. */
  proxy: AgainstProxy;
  /**
   * Before the load, one request goes through the gateway and must reach the proxy; it is tried again
   * every 500 ms for this long (default 0: once).
   */
  preflightTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** The gateway cannot be reached, or does not send its upstream calls to the proxy. */
export class AgainstSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgainstSetupError';
  }
}

const PREFLIGHT_ID = 'preflight';
const PREFLIGHT_TIMEOUT_MS = 30_000;

/** What the gateway target cannot show, and why. */
function unseenOf(attributed: { unattributed: number }, upstreamCalls: number): Unseen {
  return {
    internals: { why: "a gateway's internals cannot be seen from outside" },
    ...(attributed.unattributed > 0
      ? {
          'upstream-calls': {
            why:
              `${attributed.unattributed} of ${upstreamCalls} upstream calls could not be tied to a request ` +
              `(forward the ${REQUEST_ID_HEADER} header to make it exact)`,
            partly: true as const,
          },
        }
      : {}),
  };
}

/**
 * Sends one chat request to the gateway as its caller would: the runtime's adapter for an
 * OpenAI-compatible server, one per model name asked, every request carrying its id in a header.
 */
function gatewayClient(options: GatewayTargetOptions) {
  const ids = new AsyncLocalStorage<string>();
  const withId: typeof fetch = (input, init) => {
    const id = ids.getStore();
    if (id === undefined) return fetch(input, init);
    const request = new Request(input, init);
    request.headers.set(REQUEST_ID_HEADER, id);
    return fetch(request);
  };
  const adapters = new Map<string, ProviderAdapter>();
  const adapterFor = (model: string) => {
    let adapter = adapters.get(model);
    if (!adapter) {
      const deployment: DeploymentConfig = {
        id: `gateway/${model}`,
        provider: 'openai-compatible',
        model,
        baseURL: options.gatewayUrl,
        weight: 1,
        tags: [],
        ...(options.headers ? { headers: options.headers } : {}),
      };
      adapter = createAdapter(deployment, {
        apiKey: options.apiKey ?? 'sk-switchyard-against',
        fetch: withId,
      });
      adapters.set(model, adapter);
    }
    return adapter;
  };
  return {
    complete: (id: string, model: string, request: ChatRequest, signal: AbortSignal) =>
      ids.run(id, () => adapterFor(model).complete(request, { signal })),
    // A stream's body (and its fetch) runs in each next(), not in stream(): each runs with the id.
    async *stream(id: string, model: string, request: ChatRequest, signal: AbortSignal) {
      const events = adapterFor(model).stream(request, { signal })[Symbol.asyncIterator]();
      try {
        for (
          let next = await ids.run(id, () => events.next());
          !next.done;
          next = await ids.run(id, () => events.next())
        )
          yield next.value;
      } finally {
        await events.return?.();
      }
    },
  };
}

function lastUserText(request: ChatRequest): string {
  const user = request.messages.filter((m) => m.role === 'user').at(-1);
  return user?.content ?? '';
}

/**
 * Opens the gateway target for one scenario: checks the gateway answers and is wired to the proxy
 * (AgainstSetupError if not), then starts the scenario's fault timeline on the proxy.
 */
export async function openGatewayTarget(
  scenario: Scenario,
  seed: number,
  clock: Clock,
  options: GatewayTargetOptions,
): Promise<Target> {
  const { proxy } = options;
  const simulator = scenarioSimulator(scenario, seed, clock);
  const client = gatewayClient(options);
  const never = new AbortController().signal;
  await preflight(scenario, clock, client, (request) => simulator.handle(request), options);

  // The fault timeline starts now: windows are relative to the first request.
  const calls: UpstreamCall[] = [];
  const chaos = scenarioChaos(scenario, seed, clock, (request) => simulator.handle(request));
  proxy.setHandler(recordingHandler(chaos, clock, calls));
  const clients: ClientCall[] = [];

  return {
    mode: 'against',

    async send(id, generated, signal) {
      const route = generated.request.model ?? generated.route;
      const call: ClientCall = {
        id,
        generated,
        route,
        prompt: lastUserText(generated.request),
        startAt: clock.now(),
        text: '',
      };
      clients.push(call);
      const model = options.model ?? route;
      try {
        if (generated.stream) {
          for await (const event of client.stream(id, model, generated.request, signal ?? never)) {
            if (event.type !== 'text-delta' || event.text === '') continue;
            call.firstTextAt ??= clock.now();
            call.text += event.text;
          }
        } else {
          const answer = await client.complete(id, model, generated.request, signal ?? never);
          call.text = answer.text;
          if (call.text !== '') call.firstTextAt = clock.now();
        }
        // An empty answer is a failure the caller sees ("200 but wrong"), whoever let it through.
        call.outcome = call.text === '' ? 'error' : 'success';
        if (call.text === '') call.errorKind = 'malformed_response';
      } catch (error) {
        // A stream cut before its finish_reason is a network failure, as for the router.
        call.outcome = 'error';
        call.errorKind = isSwitchyardError(error) ? error.kind : 'network';
      }
      call.endAt = clock.now();
      return call.outcome;
    },

    records({ t0, endAt, hung }) {
      const attribution = attribute(calls, clients);
      const byRequest = new Map<string, UpstreamCall[]>();
      for (const call of calls) {
        if (!call.attributedTo) continue;
        const list = byRequest.get(call.attributedTo) ?? [];
        list.push(call);
        byRequest.set(call.attributedTo, list);
      }
      const hungIds = new Set(hung);
      const requests: RequestRecord[] = clients
        .filter((c) => c.endAt !== undefined || hungIds.has(c.id))
        .map((c) =>
          gatewayRecord(c, byRequest.get(c.id) ?? [], scenario.router, t0, endAt, hungIds.has(c.id)),
        )
        .sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
      const upstreamCalls = calls.filter((c) => c.generation).length;
      return {
        requests,
        breakerTransitions: [],
        faultCounters: faultCountersOf(chaos),
        unseen: unseenOf(attribution, upstreamCalls),
        against: {
          gateway: options.gatewayUrl,
          proxy: proxy.url,
          ...(options.model ? { model: options.model } : {}),
          upstreamCalls,
          otherCalls: calls.length - upstreamCalls,
          attributed: { header: attribution.header, prompt: attribution.prompt, time: attribution.time },
          unattributed: attribution.unattributed,
          ambiguous: attribution.ambiguous,
        },
      };
    },

    async close() {
      proxy.setHandler(undefined);
    },
  };
}

/** The models a gateway asked for: `gpt-x (openai), claude-y (anthropic)`. */
function describeAsked(answers: Array<{ provider: string | undefined; model: string | undefined }>): string {
  const asked = new Set(answers.map((a) => `${a.model ?? 'no model'} (${a.provider ?? 'no provider'})`));
  return [...asked].join(', ');
}

/** The scenario's deployments as a gateway must name them upstream: `openai gpt-4.1, anthropic claude-…`. */
function describeDeployments(scenario: Scenario): string {
  const wanted = new Set(scenario.router.deployments.map((d) => `${wireProviderOf(d.provider)} ${d.model}`));
  return [...wanted].join(', ');
}

/**
 * One request through the gateway before the fault timeline starts (served without faults): checks
 * that the gateway answers and that its upstream calls reach the proxy.
 */
async function preflight(
  scenario: Scenario,
  clock: Clock,
  client: ReturnType<typeof gatewayClient>,
  serve: (request: Request) => Promise<Response>,
  options: GatewayTargetOptions,
): Promise<void> {
  const { proxy } = options;
  const deadline = clock.now() + (options.preflightTimeoutMs ?? 0);
  const model = options.model ?? resolveRoute(scenario.router, { messages: [] }).name;
  const signal = options.signal ?? new AbortController().signal;
  // What the gateway asked of the providers, and what it was answered.
  const answers: Array<{ status: number; provider: string | undefined; model: string | undefined }> = [];
  proxy.setHandler(async (request) => {
    const info = await inspectRequest(request);
    const response = await serve(request);
    answers.push({ status: response.status, provider: info.provider, model: info.model });
    return response;
  });
  const secrets = [options.apiKey, ...Object.values(options.headers ?? {})];
  try {
    for (;;) {
      let problem: string;
      try {
        await client.complete(
          PREFLIGHT_ID,
          model,
          {
            messages: [{ role: 'user', content: `switchyard preflight ${crypto.randomUUID()}` }],
            maxOutputTokens: 8,
          },
          AbortSignal.any([signal, AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS)]),
        );
        problem = 'it answered';
      } catch (error) {
        if (signal.aborted) throw error;
        const kind = isSwitchyardError(error) ? error.kind : 'network';
        // The gateway may echo what it was sent (its key) in an error: none of it is printed.
        const message = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
        if (kind === 'network' || kind === 'timeout' || kind === 'cancelled') {
          problem = `cannot reach the gateway at ${options.gatewayUrl} (${message})`;
          if (clock.now() >= deadline) throw new AgainstSetupError(problem);
          await clock.sleep(500, signal);
          continue;
        }
        problem = `it answered ${isSwitchyardError(error) ? (error.status ?? '') : ''} ${kind}: ${message}`;
      }
      if (answers.length > 0 && answers.every((a) => a.status === 404))
        throw new AgainstSetupError(
          `every call the gateway at ${options.gatewayUrl} made to the chaos proxy was answered 404 (${problem}): ` +
            `it asked for ${describeAsked(answers)}, which the simulator does not serve; ` +
            `configure its models as the scenario's deployments are: ${describeDeployments(scenario)}`,
        );
      if (answers.length > 0) return;
      if (clock.now() >= deadline) {
        throw new AgainstSetupError(
          `the gateway at ${options.gatewayUrl} sent nothing to the chaos proxy (${problem}): ` +
            `point its upstreams at ${proxy.url} (OpenAI ${proxy.upstreams.openai}, Anthropic ${proxy.upstreams.anthropic}, Ollama ${proxy.upstreams.ollama})`,
        );
      }
      await clock.sleep(500, signal);
    }
  } finally {
    proxy.setHandler(undefined);
  }
}
