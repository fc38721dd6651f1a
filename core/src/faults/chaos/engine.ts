/**
 * The chaos handler: a fetch-style `(Request) => Promise<Response>` that sits in front of an upstream
 * (the simulator, or a forwarder to a real provider) and injects the faults a plan decides on. It only
 * needs runtime types and the Clock; delivery (MSW in-process, a socket proxy) wraps it.
 */
import type { Clock } from '../../runtime/clock.ts';
import type { FaultContext, FaultId, TransportFault } from './catalogue.ts';
import { type ChaosCounters, createPlan, type FaultRule } from './plan.ts';
import { deriveSeed, mulberry32, randomId } from './prng.ts';
import { requestAborted } from './streams.ts';
import { inspectRequest, type Provider, type RequestInfo } from './wire.ts';

export type Upstream = (request: Request) => Promise<Response>;

export interface InjectionEvent {
  at: number;
  ruleId: string;
  fault: FaultId;
  provider: Provider;
  model: string | undefined;
  endpoint: string;
  stream: boolean;
}

export interface ChaosOptions {
  clock: Clock;
  seed: number;
  rules?: FaultRule[];
  upstream: Upstream;
  /** Called for each injected fault (for traces and run journals). */
  onInject?: (event: InjectionEvent) => void;
  /**
   * Called with each injected fault's response once it exists (not for transport faults): status and
   * headers as the client gets them (the scenario runner records the Retry-After it sent). The body
   * must not be read.
   */
  onResponse?: (event: InjectionEvent, response: Response) => void;
}

/** The fault chosen for one request: run it with that request (it may call the upstream). */
export type Injector = (request: Request) => Promise<Response>;

export interface Chaos {
  /** `info`: the request already described (inspectRequest), so its body is not read again. */
  handle(request: Request, info?: RequestInfo): Promise<Response>;
  /**
   * `handle` in two steps, for a request already described (`describeRequest`): counts it and decides,
   * like `handle`. Returns undefined when it passes through untouched (the caller forwards it as it
   * likes), else the fault to run with the request. Perf: lets the socket proxy forward the no-fault
   * case straight between sockets, without fetch Request/Response objects.
   */
  decide(info: RequestInfo): Injector | undefined;
  counters(): ChaosCounters;
  rules(): FaultRule[];
  setRules(rules: FaultRule[]): void;
  reset(): void;
}

const transportMarks = new WeakMap<Response, TransportFault>();

/**
 * The transport fault behind a `Response.error()` the chaos handler returned. In-process delivery lets
 * fetch turn it into a TypeError; the socket proxy reads it and does the real thing (RST, close, FIN).
 */
export function transportFaultOf(response: Response): TransportFault | undefined {
  return transportMarks.get(response);
}

/**
 * A rule's own headers on the fault's response (`headers`, `retryAfter`): Retry-After in seconds or
 * as an HTTP date on any status (a 503 or 529 too). Retry-After replaces a retry-after-ms header the
 * fault sent, so the form the rule asked for is the one clients read. An HTTP date is computed on the
 * clock and rounded up to the whole second (its resolution), so it never asks for less than the wait.
 */
function withRuleHeaders(response: Response, rule: FaultRule, now: number): Response {
  if (!rule.headers && !rule.retryAfter) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(rule.headers ?? {})) headers.set(name, value);
  if (rule.retryAfter) {
    const { ms, format } = rule.retryAfter;
    headers.delete('retry-after-ms');
    headers.set(
      'retry-after',
      format === 'http-date'
        ? new Date(Math.ceil((now + ms) / 1000) * 1000).toUTCString()
        : String(Math.ceil(ms / 1000)),
    );
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export function createChaos(options: ChaosOptions): Chaos {
  const { clock, seed, upstream } = options;
  const plan = createPlan({ clock, seed, rules: options.rules ?? [] });
  // Ids come from their own stream so which faults fire never depends on how many ids were minted.
  // Neither a rule change nor a reset rewinds it: a request id is never handed out twice by one
  // handler (the same seed still gives a fresh handler the same sequence, for reproducible runs).
  const idRandom = mulberry32(deriveSeed(seed, 'request-ids'));
  const requestId = (provider: Provider): string =>
    provider === 'anthropic'
      ? `req_011C${randomId(idRandom, 20)}`
      : `req_${randomId(idRandom, 32, '0123456789abcdef')}`;

  const decide = (info: RequestInfo): Injector | undefined => {
    const decision = plan.decide(info);
    const provider = info.provider;
    if (!decision || !provider) return undefined;
    const event: InjectionEvent = {
      at: clock.now(),
      ruleId: decision.ruleId,
      fault: decision.fault.id,
      provider,
      model: info.model,
      endpoint: info.endpoint,
      stream: info.stream,
    };
    options.onInject?.(event);
    const answer = (response: Response): Response => {
      const out = withRuleHeaders(response, decision.rule, clock.now());
      options.onResponse?.({ ...event, at: clock.now() }, out);
      return out;
    };
    return async (request) => {
      const ctx: FaultContext = {
        info: { ...info, provider },
        clock,
        signal: request.signal,
        requestId: () => requestId(provider),
      };
      const action = decision.fault.action(ctx, decision.params);
      if (action.kind === 'respond') {
        if (action.delayMs) await clock.sleep(action.delayMs, request.signal);
        return answer(action.response);
      }
      if (action.kind === 'transport') {
        // Headers never come: only the caller's abort (client timeout, socket closed) ends the wait.
        if (action.transport === 'no_response') return requestAborted(request);
        const response = Response.error();
        transportMarks.set(response, action.transport);
        return response;
      }
      if (action.delayMs) await clock.sleep(action.delayMs, request.signal);
      const response = await upstream(request);
      return answer(action.transform ? await action.transform(response, ctx) : response);
    };
  };

  return {
    async handle(request, info) {
      const inject = decide(info ?? (await inspectRequest(request)));
      return inject ? inject(request) : upstream(request);
    },
    decide,
    counters: () => plan.counters(),
    rules: () => plan.rules(),
    setRules: (rules) => plan.setRules(rules),
    reset: () => plan.reset(),
  };
}
