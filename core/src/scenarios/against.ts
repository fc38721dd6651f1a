import * as AnthropicSdk from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { type Chaos, createChaos, transportFaultOf, type Upstream } from '../faults/chaos/engine.ts';
import { deriveSeed, mulberry32 } from '../faults/chaos/prng.ts';
import { inspectRequest, isRecord, type Provider } from '../faults/chaos/wire.ts';
import { type ChaosProxy, startChaosProxy } from '../faults/delivery/proxy-server.ts';
import { createSimulator, type Simulator } from '../faults/simulator/simulator.ts';
import { type Clock, RealClock } from '../runtime/clock.ts';
import type { RouterConfig } from '../runtime/config/schema.ts';
import type { ErrorKind } from '../runtime/errors.ts';
import { normalizeError, normalizePayloadError, parseRetryAfterMs } from '../runtime/providers/index.ts';
import { resolveRoute } from '../runtime/routing/select.ts';
import { evaluateHypotheses, runVerdict } from './hypotheses.ts';
import type {
  AgainstSummary,
  AttemptSummary,
  HypothesisResult,
  RequestRecord,
  RunJournal,
} from './journal.ts';
import { arrivalGapMs, createRequestFactory, type GeneratedRequest } from './load-gen.ts';
import {
  journalHeader,
  latencyOverrides,
  loadLimits,
  type RunProgress,
  toFaultRule,
  toFaultWindows,
} from './runner.ts';
import type { Scenario } from './schema.ts';

/**
 * `switchyard run --against URL`: grade someone else's gateway (LiteLLM, Portkey, a home-made one, in
 * any language) with our scenarios. The chaos proxy serves the simulated providers with the scenario's
 * fault timeline on the wall clock; the user points the gateway's upstreams at it; the scenario's load
 * goes to the gateway through the official `openai` SDK (maxRetries 0). The gateway routes on its own:
 * we see each request from the outside (latency, TTFT, outcome, error kind, streamed text) and each
 * upstream call from the provider side (which provider and model, when, what it answered), and tie the
 * two together (see attribute()).
 */

/** The header every request to the gateway carries; a gateway that forwards it makes correlation exact. */
export const REQUEST_ID_HEADER = 'x-switchyard-request-id';
const PREFLIGHT_ID = 'preflight';
/** Text kept per upstream call (for the duplicated-text check); longer answers are cut. */
const MAX_CALL_TEXT = 1 << 20;

export interface AgainstProxy {
  /** The proxy's origin, e.g. http://127.0.0.1:8790. */
  url: string;
  port: number;
  /** Base URLs to give the gateway for each provider. */
  upstreams: { openai: string; anthropic: string; ollama: string };
  /** What the proxy serves; undefined = the plain simulator, no faults (between scenarios). */
  setHandler(handler: Upstream | undefined): void;
  close(): Promise<void>;
}

/**
 * One chaos proxy for a whole `--against` session: scenarios come and go (each sets its own fault
 * timeline and simulator), the port stays, so the gateway is configured once.
 */
export async function startAgainstProxy(
  options: { host?: string; port?: number } = {},
): Promise<AgainstProxy> {
  const clock = new RealClock();
  const idle = createSimulator({ clock, seed: 0 });
  let handler: Upstream | undefined;
  // The scenario's rules live in the handler's own chaos engine (so every call is logged with its
  // headers and answer); the proxy's engine has none and passes each request straight to it, and a
  // transport fault (Response.error()) still reaches the socket as a real RST / close / FIN.
  const proxy: ChaosProxy = await startChaosProxy({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    clock,
    seed: 0,
    mode: 'simulate',
    rules: [],
    upstream: (request) => (handler ?? ((r: Request) => idle.handle(r)))(request),
  });
  return {
    url: proxy.url,
    port: proxy.port,
    upstreams: { openai: `${proxy.url}/v1`, anthropic: proxy.url, ollama: proxy.url },
    setHandler: (next) => {
      handler = next;
    },
    close: () => proxy.close(),
  };
}

export interface AgainstOptions {
  /** The gateway's OpenAI-compatible base URL, e.g. http://127.0.0.1:4000/v1. */
  gatewayUrl: string;
  /** API key sent to the gateway (default a placeholder: most stand-ins need none). */
  apiKey?: string;
  /** The model name asked of the gateway (default: each request's route name). */
  model?: string;
  /** A proxy shared across scenarios; without it one is started (and closed) for this run. */
  proxy?: AgainstProxy;
  /** Port for a proxy started here (default 0, a free one). */
  proxyPort?: number;
  /** Overrides the scenario's seed. */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  onError?: (error: unknown) => void;
  /** Called once the proxy listens, before anything is sent: tell the user where to point the gateway. */
  onProxyReady?: (proxy: AgainstProxy) => void;
  /**
   * Before the load, one request goes through the gateway and must reach the proxy; it is tried again
   * every 500 ms for this long (default 0: once). A gateway that cannot be reached or is not wired to
   * the proxy fails the run with an AgainstSetupError instead of grading nothing.
   */
  preflightTimeoutMs?: number;
  /** Safety cap on requests for duration-only loads (default 100 000). */
  maxRequests?: number;
  /** Forces the share of streamed requests (0..1) for every request (`run --stream-share`). */
  streamShare?: number;
}

/** The gateway cannot be reached, or does not send its upstream calls to the proxy. */
export class AgainstSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgainstSetupError';
  }
}

// -----------------------------------------------------------------------------------------------
// What is observed

/** One request sent to the gateway, seen from the caller's side. Times are clock ms. */
interface ClientCall {
  id: string;
  generated: GeneratedRequest;
  route: string;
  /** The last user message: what an upstream call for this request will contain. */
  prompt: string;
  startAt: number;
  endAt?: number;
  firstTextAt?: number;
  text: string;
  outcome?: 'success' | 'error';
  errorKind?: ErrorKind;
}

/** One call the gateway made to a (simulated) provider, seen from the provider's side. */
interface UpstreamCall {
  seq: number;
  startAt: number;
  endAt?: number;
  provider: Provider | undefined;
  endpoint: string;
  model: string | undefined;
  generation: boolean;
  stream: boolean;
  /** The x-switchyard-request-id header, when the gateway forwarded it. */
  headerId: string | undefined;
  /** Every text the request body carries (messages, system, prompt), for matching the prompt. */
  bodyText: string;
  status?: number;
  retryAfterMs?: number;
  outcome?: 'success' | 'error' | 'aborted';
  errorKind?: ErrorKind;
  /** Answer text the provider delivered. */
  text: string;
  attributedTo?: string;
}

// -----------------------------------------------------------------------------------------------
// The provider-side log

/** Text of every message in a chat body, in any of the three wire formats (plus system and prompt). */
function textsOf(body: unknown): string {
  if (!isRecord(body)) return '';
  const parts: string[] = [];
  const push = (content: unknown) => {
    if (typeof content === 'string') parts.push(content);
    else if (Array.isArray(content))
      for (const part of content) if (isRecord(part) && typeof part.text === 'string') parts.push(part.text);
  };
  push(body.system);
  push(body.prompt);
  if (Array.isArray(body.messages)) for (const m of body.messages) if (isRecord(m)) push(m.content);
  return parts.join('\n');
}

/** The answer text in a provider body (JSON) or stream (SSE / NDJSON), and an in-band error if any. */
function parseAnswer(
  provider: Provider | undefined,
  stream: boolean,
  raw: string,
): {
  text: string;
  error?: { message: string; type?: string; code?: string };
  malformed?: boolean;
  /** A stream that ended before its terminator (finish_reason, message_stop, done: true). */
  cut?: boolean;
} {
  const json = (s: string): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  const errorOf = (value: unknown) => {
    const inner = isRecord(value) && isRecord(value.error) ? value.error : undefined;
    if (isRecord(value) && typeof value.error === 'string') return { message: value.error };
    if (!inner) return undefined;
    return {
      message: typeof inner.message === 'string' ? inner.message : 'error event',
      ...(typeof inner.type === 'string' ? { type: inner.type } : {}),
      ...(typeof inner.code === 'string' ? { code: inner.code } : {}),
    };
  };
  const deltaText = (event: unknown): string => {
    if (!isRecord(event)) return '';
    if (provider === 'anthropic') {
      const delta = event.delta;
      return event.type === 'content_block_delta' && isRecord(delta) && typeof delta.text === 'string'
        ? delta.text
        : '';
    }
    if (provider === 'ollama') {
      if (isRecord(event.message) && typeof event.message.content === 'string') return event.message.content;
      return typeof event.response === 'string' ? event.response : '';
    }
    const choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
    const delta = isRecord(choice) ? (stream ? choice.delta : choice.message) : undefined;
    return isRecord(delta) && typeof delta.content === 'string' ? delta.content : '';
  };
  if (!stream) {
    const body = json(raw);
    if (body === undefined) return { text: '', malformed: true };
    const error = errorOf(body);
    if (error) return { text: '', error };
    if (provider === 'anthropic' && isRecord(body) && Array.isArray(body.content)) {
      const text = body.content
        .map((b) => (isRecord(b) && typeof b.text === 'string' ? b.text : ''))
        .join('');
      return { text };
    }
    return { text: deltaText(body) };
  }
  let text = '';
  let error: ReturnType<typeof errorOf>;
  let malformed = false;
  let terminated = false;
  const isTerminal = (event: unknown): boolean => {
    if (!isRecord(event)) return false;
    if (provider === 'anthropic') return event.type === 'message_stop';
    if (provider === 'ollama') return event.done === true;
    // The router's rule for OpenAI: a finish_reason is the only proof the answer is whole.
    const choice = Array.isArray(event.choices) ? event.choices[0] : undefined;
    return isRecord(choice) && typeof choice.finish_reason === 'string';
  };
  for (const line of raw.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('event:') || trimmed.startsWith(':')) continue;
    const payload = trimmed.startsWith('data:') ? trimmed.slice(5).trim() : trimmed;
    if (payload === '[DONE]') continue;
    const event = json(payload);
    if (event === undefined) {
      malformed = true;
      continue;
    }
    error ??= errorOf(event);
    text += deltaText(event);
    terminated ||= isTerminal(event);
  }
  return {
    text,
    ...(error ? { error } : {}),
    ...(malformed ? { malformed } : {}),
    ...(!terminated && !error ? { cut: true } : {}),
  };
}

/** An HTTP error answer from a provider, classified by the router's own normaliser. */
function classifyHttpError(provider: Provider | undefined, status: number, headers: Headers, raw: string) {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  const message = isRecord(body) && typeof body.error === 'string' ? body.error : raw.slice(0, 200);
  const error =
    provider === 'anthropic'
      ? AnthropicSdk.APIError.generate(status, isRecord(body) ? body : undefined, message, headers)
      : provider === 'ollama'
        ? Object.assign(new Error(message), { name: 'ResponseError', status_code: status, error: message })
        : OpenAI.APIError.generate(status, isRecord(body) ? body : undefined, message, headers);
  return normalizeError(error, { provider: provider ?? 'unknown', response: { status, headers } });
}

/**
 * The handler the proxy serves during one scenario: the scenario's chaos engine in front of its
 * simulator, every call logged with when it started and ended and what it answered.
 */
function recordingHandler(chaos: Chaos, clock: Clock, calls: UpstreamCall[]): Upstream {
  return async (request) => {
    const info = await inspectRequest(request);
    const call: UpstreamCall = {
      seq: calls.length,
      startAt: clock.now(),
      provider: info.provider,
      endpoint: info.endpoint,
      model: info.model,
      generation: info.generation,
      stream: info.stream,
      headerId: request.headers.get(REQUEST_ID_HEADER) ?? undefined,
      bodyText: textsOf(info.body),
      text: '',
    };
    calls.push(call);
    const finish = (outcome: UpstreamCall['outcome'], errorKind?: ErrorKind) => {
      if (call.outcome) return;
      call.endAt = clock.now();
      call.outcome = outcome;
      if (errorKind) call.errorKind = errorKind;
    };
    let response: Response;
    try {
      response = await chaos.handle(request, info);
    } catch (error) {
      // No answer came (no_response) and the gateway gave up, or the upstream failed outright.
      finish(request.signal.aborted ? 'aborted' : 'error', request.signal.aborted ? undefined : 'network');
      throw error;
    }
    if (transportFaultOf(response) !== undefined || response.type === 'error') {
      finish('error', 'network');
      return response;
    }
    call.status = response.status;
    if (response.status >= 400) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      const raw = new TextDecoder().decode(bytes);
      const error = classifyHttpError(info.provider, response.status, response.headers, raw);
      call.retryAfterMs = error.retryAfterMs ?? parseRetryAfterMs(response.headers, clock.now());
      finish('error', error.kind);
      return new Response(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    if (!response.body) {
      finish('success');
      return response;
    }
    // Pass the body through untouched, keeping a copy of its text for the end-of-call verdict.
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          // Cut mid-body (stream_cut, a reset): what the gateway gets is a broken body.
          finish(
            request.signal.aborted ? 'aborted' : 'error',
            request.signal.aborted ? undefined : 'network',
          );
          call.text = parseAnswer(info.provider, info.stream, raw).text;
          controller.error(error);
          return;
        }
        if (next.done) {
          raw += decoder.decode();
          const answer = parseAnswer(info.provider, info.stream, raw);
          call.text = answer.text;
          if (answer.error) {
            const kind = normalizePayloadError(answer.error, {
              provider: info.provider ?? 'unknown',
              response: { status: response.status, headers: response.headers },
            }).kind;
            finish('error', kind);
          } else if (answer.cut) finish('error', 'network');
          else if (answer.malformed) finish('error', 'malformed_response');
          else finish('success');
          controller.close();
          return;
        }
        if (raw.length < MAX_CALL_TEXT) raw += decoder.decode(next.value, { stream: true });
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        // The gateway stopped reading (it gave up, or a hedge won elsewhere).
        call.text = parseAnswer(info.provider, info.stream, raw).text;
        finish('aborted');
        await reader.cancel(reason).catch(() => {});
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

// -----------------------------------------------------------------------------------------------
// Tying upstream calls to requests

/** How the upstream calls of a run were tied to its requests (see attribute()). */
export interface Attribution {
  header: number;
  prompt: number;
  time: number;
  unattributed: number;
  ambiguous: number;
}

/**
 * Which request each upstream call was made for. In order of trust:
 *  1. the x-switchyard-request-id header, if the gateway forwarded it;
 *  2. the prompt: among the requests in flight when the call started, the one whose last user message
 *     the call's body contains (it survives translation to Anthropic's or Ollama's format);
 *  3. time alone, when the body carries no known prompt and exactly one request was in flight.
 * A call that fits none, or several requests with the same prompt, stays unattributed and is counted.
 */
function attribute(calls: UpstreamCall[], clients: ClientCall[]): Attribution {
  const byId = new Map(clients.map((c) => [c.id, c]));
  const counts: Attribution = { header: 0, prompt: 0, time: 0, unattributed: 0, ambiguous: 0 };
  for (const call of calls) {
    if (!call.generation) continue;
    if (call.headerId && byId.has(call.headerId)) {
      call.attributedTo = call.headerId;
      counts.header++;
      continue;
    }
    const inFlight = clients.filter(
      (c) => c.startAt <= call.startAt && call.startAt <= (c.endAt ?? Number.POSITIVE_INFINITY),
    );
    const byPrompt = inFlight.filter((c) => c.prompt.length > 0 && call.bodyText.includes(c.prompt));
    if (byPrompt.length === 1) {
      call.attributedTo = byPrompt[0]!.id;
      counts.prompt++;
    } else if (byPrompt.length === 0 && inFlight.length === 1) {
      call.attributedTo = inFlight[0]!.id;
      counts.time++;
    } else {
      counts.unattributed++;
      if (byPrompt.length > 1) counts.ambiguous++;
    }
  }
  return counts;
}

/** The scenario's deployment a provider call corresponds to (same provider and model), else provider:model. */
function deploymentOf(
  config: RouterConfig,
  provider: Provider | undefined,
  model: string | undefined,
): string {
  const wire = (p: string) => (p === 'openai-compatible' ? 'openai' : p);
  const match = config.deployments.find((d) => wire(d.provider) === provider && d.model === model);
  return match?.id ?? `${provider ?? 'unknown'}:${model ?? '?'}`;
}

function toAttempts(
  calls: UpstreamCall[],
  config: RouterConfig,
  t0: number,
  endAt: number,
): AttemptSummary[] {
  const sorted = [...calls].sort((a, b) => a.startAt - b.startAt || a.seq - b.seq);
  const attempts = sorted.map((call): AttemptSummary => {
    const attempt: AttemptSummary = {
      deployment: deploymentOf(config, call.provider, call.model),
      startMs: call.startAt - t0,
      endMs: (call.endAt ?? endAt) - t0,
      outcome: call.outcome ?? 'aborted',
      costUsd: 0,
    };
    if (call.errorKind) attempt.errorKind = call.errorKind;
    if (call.status !== undefined) attempt.status = call.status;
    return attempt;
  });
  for (let i = 0; i < attempts.length; i++) {
    const attempt = attempts[i]!;
    const next = attempts[i + 1];
    const previous = attempts[i - 1];
    // A call that starts while the one before it still runs was sent in parallel: a hedge.
    if (previous && attempt.startMs < previous.endMs) attempt.hedge = true;
    if (!next) attempt.next = attempt.outcome === 'success' ? 'done' : 'give-up';
    else if (!(next.startMs < attempt.endMs)) {
      attempt.next = next.deployment === attempt.deployment ? 'retry' : 'fallback';
      attempt.delayBeforeNextMs = next.startMs - attempt.endMs;
    }
    // The wait this call's answer asked for, as the proxy sent it.
    const retryAfterMs = sorted[i]!.retryAfterMs;
    if (retryAfterMs !== undefined) attempt.retryAfterSentMs = retryAfterMs;
  }
  return attempts;
}

function toRecordAgainst(
  client: ClientCall,
  calls: UpstreamCall[],
  config: RouterConfig,
  t0: number,
  endAt: number,
): RequestRecord {
  const end = client.endAt ?? endAt;
  const attempts = toAttempts(calls, config, t0, endAt);
  const successes = attempts.filter((a) => a.outcome === 'success');
  const outcome = client.outcome ?? 'error';
  const final = outcome === 'success' ? successes.at(-1)?.deployment : undefined;
  const record: RequestRecord = {
    id: client.id,
    startMs: client.startAt - t0,
    endMs: end - t0,
    latencyMs: end - client.startAt,
    stream: client.generated.stream,
    tags: [...(client.generated.request.tags ?? [])],
    route: client.route,
    outcome,
    fellBack: final !== undefined && attempts.length > 0 && attempts[0]!.deployment !== final,
    cache: 'off',
    costUsd: 0,
    wastedUsd: 0,
    attempts,
    skipped: [],
  };
  if (final) record.finalDeployment = final;
  if (client.generated.request.tenant) record.tenant = client.generated.request.tenant;
  if (outcome !== 'success') record.errorKind = client.errorKind ?? 'server_error';
  if (client.generated.stream) {
    if (client.firstTextAt !== undefined) record.ttftMs = client.firstTextAt - client.startAt;
    record.streamedChars = client.text.length;
    // No single upstream answer is longer than itself: text beyond the longest one was sent twice.
    const longest = Math.max(0, ...calls.map((c) => c.text.length));
    if (calls.length > 0) record.duplicatedText = client.text.length > longest;
  }
  return record;
}

// -----------------------------------------------------------------------------------------------
// Hypotheses from the outside

const NOT_OBSERVABLE: Partial<Record<string, string>> = {
  breaker_opens_within:
    "the gateway's circuit breakers are internal: the provider-side log shows calls, not when a breaker opened or closed",
  breaker_recovers_with_single_probe:
    "the gateway's circuit breakers are internal: the provider-side log shows calls, not half-open periods",
  budget_never_exceeded: "the gateway's budgets and spend ledger are not visible from outside",
  wasted_spend: 'spend is not metered in --against mode (upstream token usage is not priced)',
  cost_per_success: 'spend is not metered in --against mode (upstream token usage is not priced)',
  breaker_thrash:
    "the gateway's circuit breakers are internal: the provider-side log shows calls, not when a breaker opened",
  every_fallback_tried: "the gateway's fallback chain is its own configuration, not the scenario's",
  no_deadline_death_with_healthy_fallback:
    "the gateway's deadlines are internal: a timeout seen by the caller does not say which deadline fired",
};
/** Hypotheses read off the upstream calls tied to each request: only as good as that tying. */
const FROM_CALL_LOG = new Set([
  'max_attempts_per_request',
  'retry_after_respected',
  'retry_after_respected_across_requests',
  'non_retryable_not_retried',
  'fallback_path',
  'retries_spread',
  'no_duplicated_text',
]);

export const NOT_OBSERVABLE_PREFIX = 'not observable in --against mode';

/**
 * The scenario's hypotheses over what was seen from outside. One that needs the gateway's internals,
 * or the upstream calls when some could not be tied to a request, is marked `evaluable: false` and
 * does not pass: a harness that cannot see something must not report it as proven.
 */
export function evaluateAgainst(
  scenario: Pick<Scenario, 'hypotheses' | 'hypothesisLines'>,
  parts: Parameters<typeof evaluateHypotheses>[1],
  attribution: Attribution,
  upstreamCalls: number,
): HypothesisResult[] {
  return evaluateHypotheses(scenario, parts).map((result) => {
    const reason = NOT_OBSERVABLE[result.kind];
    if (reason) {
      return {
        ...result,
        verdict: 'inconclusive',
        passed: false,
        evaluable: false,
        actual: `${NOT_OBSERVABLE_PREFIX}: ${reason}`,
        examples: [],
      };
    }
    if (FROM_CALL_LOG.has(result.kind) && attribution.unattributed > 0) {
      return {
        ...result,
        verdict: 'inconclusive',
        passed: false,
        evaluable: false,
        actual:
          `${NOT_OBSERVABLE_PREFIX}: ${attribution.unattributed} of ${upstreamCalls} upstream calls could not be ` +
          `tied to a request (forward the ${REQUEST_ID_HEADER} header to make it exact); over the rest: ${result.actual}`,
      };
    }
    return result;
  });
}

// -----------------------------------------------------------------------------------------------
// The run

function lastUserText(request: GeneratedRequest['request']): string {
  const user = request.messages.filter((m) => m.role === 'user').at(-1);
  return user?.content ?? '';
}

export async function runAgainst(scenario: Scenario, options: AgainstOptions): Promise<RunJournal> {
  const seed = options.seed ?? scenario.seed;
  const clock = new RealClock();
  const wallStart = Date.now();
  const ownProxy = options.proxy ? undefined : await startAgainstProxy({ port: options.proxyPort ?? 0 });
  const proxy = (options.proxy ?? ownProxy)!;
  const simulator: Simulator = createSimulator({
    clock,
    seed: scenario.simulator?.seed ?? deriveSeed(seed, 'simulator'),
    ...latencyOverrides(scenario),
  });
  const client = new OpenAI({
    baseURL: options.gatewayUrl,
    apiKey: options.apiKey ?? 'sk-switchyard-against',
    maxRetries: 0,
  });
  const runController = new AbortController();
  const onAbort = () => runController.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  try {
    options.onProxyReady?.(proxy);
    await preflight(scenario, client, proxy, simulator, options, runController.signal);

    // The fault timeline starts now: windows are relative to the first request.
    const calls: UpstreamCall[] = [];
    const injected: Array<{ at: number; ruleId: string }> = [];
    const chaos = createChaos({
      clock,
      seed: deriveSeed(seed, 'chaos'),
      rules: scenario.faults.map(toFaultRule),
      upstream: (request) => simulator.handle(request),
      onInject: (event) => injected.push({ at: event.at, ruleId: event.ruleId }),
    });
    proxy.setHandler(recordingHandler(chaos, clock, calls));
    const t0 = clock.now();
    const { clients, complete, error } = await driveLoad(
      scenario,
      seed,
      client,
      options,
      clock,
      t0,
      runController,
    );
    proxy.setHandler(undefined);
    if (error !== undefined) options.onError?.(error);

    const endAt = clock.now();
    const durationMs = endAt - t0;
    const attribution = attribute(calls, clients);
    const byRequest = new Map<string, UpstreamCall[]>();
    for (const call of calls) {
      if (!call.attributedTo) continue;
      const list = byRequest.get(call.attributedTo) ?? [];
      list.push(call);
      byRequest.set(call.attributedTo, list);
    }
    const requests = clients
      .filter((c) => c.endAt !== undefined || !complete)
      .map((c) => toRecordAgainst(c, byRequest.get(c.id) ?? [], scenario.router, t0, endAt))
      .sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
    const faultWindows = scenario.faults.flatMap((fault, i) => toFaultWindows(fault, i, durationMs));
    const counters = chaos.counters();
    const generationCalls = calls.filter((c) => c.generation).length;
    const hypotheses = evaluateAgainst(
      scenario,
      {
        requests,
        faultWindows,
        breakerTransitions: [],
        durationMs,
        config: scenario.router,
        clockOriginMs: t0,
        requestsSent: clients.length,
      },
      attribution,
      generationCalls,
    );
    const against: AgainstSummary = {
      gateway: options.gatewayUrl,
      proxy: proxy.url,
      ...(options.model ? { model: options.model } : {}),
      upstreamCalls: generationCalls,
      otherCalls: calls.length - generationCalls,
      attributed: { header: attribution.header, prompt: attribution.prompt, time: attribution.time },
      unattributed: attribution.unattributed,
      ambiguous: attribution.ambiguous,
    };
    return {
      ...journalHeader(scenario, seed, wallStart, complete),
      mode: 'against',
      clockOriginMs: t0,
      requestsSent: clients.length,
      ...(options.streamShare !== undefined ? { streamShareOverride: options.streamShare } : {}),
      // The scenario's config: what the hypotheses read (deployment ids); the gateway's own is unknown.
      config: scenario.router,
      durationMs,
      faultWindows,
      requests,
      faultCounters: {
        requestsSeen: counters.requests.total,
        injected: counters.injected.byFault,
        byTarget: counters.injected.byTarget,
      },
      breakerTransitions: [],
      hypotheses,
      verdict: runVerdict(complete, hypotheses),
      against,
    };
  } finally {
    proxy.setHandler(undefined);
    options.signal?.removeEventListener('abort', onAbort);
    await ownProxy?.close();
  }
}

/** Chat parameters for one generated request, in the OpenAI wire format the gateway speaks. */
function chatBody(generated: GeneratedRequest, model: string) {
  const r = generated.request;
  return {
    model,
    messages: r.messages.map((m) => ({
      role: m.role,
      content: m.content,
    })) as OpenAI.ChatCompletionMessageParam[],
    ...(r.maxOutputTokens ? { max_tokens: r.maxOutputTokens } : {}),
    ...(r.tenant ? { user: r.tenant } : {}),
  };
}

/**
 * One request through the gateway before the fault timeline starts (served without faults): checks
 * that the gateway answers and that its upstream calls reach the proxy.
 */
async function preflight(
  scenario: Scenario,
  client: OpenAI,
  proxy: AgainstProxy,
  simulator: Simulator,
  options: AgainstOptions,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + (options.preflightTimeoutMs ?? 0);
  const route = options.model ?? resolveRoute(scenario.router, { messages: [] }).name;
  let seen = 0;
  proxy.setHandler((request) => {
    seen++;
    return simulator.handle(request);
  });
  try {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      let problem: string;
      try {
        await client.chat.completions.create(
          {
            model: route,
            messages: [{ role: 'user', content: `switchyard preflight ${crypto.randomUUID()}` }],
            max_tokens: 8,
          },
          { headers: { [REQUEST_ID_HEADER]: PREFLIGHT_ID }, signal, timeout: 30_000 },
        );
        problem = 'it answered';
      } catch (error) {
        if (signal.aborted) throw error;
        const normalized = normalizeError(error, { provider: 'gateway' });
        if (normalized.kind === 'network' || normalized.kind === 'timeout') {
          problem = `cannot reach the gateway at ${options.gatewayUrl} (${normalized.message})`;
          if (Date.now() >= deadline) throw new AgainstSetupError(problem);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        problem = `it answered ${normalized.status ?? ''} ${normalized.kind}: ${normalized.message}`;
      }
      if (seen > 0) return;
      if (Date.now() >= deadline) {
        throw new AgainstSetupError(
          `the gateway at ${options.gatewayUrl} sent nothing to the chaos proxy (${problem}): ` +
            `point its upstreams at ${proxy.url} (OpenAI ${proxy.upstreams.openai}, Anthropic ${proxy.upstreams.anthropic}, Ollama ${proxy.upstreams.ollama})`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    proxy.setHandler(undefined);
  }
}

/** The scenario's load, in real time, through the gateway; resolves when every request has ended. */
async function driveLoad(
  scenario: Scenario,
  seed: number,
  client: OpenAI,
  options: AgainstOptions,
  clock: Clock,
  t0: number,
  runController: AbortController,
): Promise<{ clients: ClientCall[]; complete: boolean; error?: unknown }> {
  const load = scenario.load;
  const { maxRequests, arrivalsEndMs, progress } = loadLimits(scenario, options.maxRequests);
  const rel = () => clock.now() - t0;
  const report = () => options.onProgress?.({ ...progress, elapsedMs: rel() });
  const makeRequest = createRequestFactory(scenario, seed, options.streamShare);
  const clients: ClientCall[] = [];
  const inFlight = new Set<Promise<void>>();
  let runError: unknown;
  const signal = runController.signal;

  const send = async (generated: GeneratedRequest): Promise<void> => {
    const route = generated.request.model ?? resolveRoute(scenario.router, generated.request).name;
    const call: ClientCall = {
      id: `req-${String(clients.length + 1).padStart(5, '0')}`,
      generated,
      route,
      prompt: lastUserText(generated.request),
      startAt: clock.now(),
      text: '',
    };
    clients.push(call);
    progress.sent++;
    const body = chatBody(generated, options.model ?? route);
    const requestOptions = { headers: { [REQUEST_ID_HEADER]: call.id }, signal };
    try {
      let finished = false;
      if (generated.stream) {
        const stream = await client.chat.completions.create({ ...body, stream: true }, requestOptions);
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (choice?.finish_reason) finished = true;
          const text = choice?.delta?.content;
          if (!text) continue;
          call.firstTextAt ??= clock.now();
          call.text += text;
        }
      } else {
        const response = await client.chat.completions.create({ ...body, stream: false }, requestOptions);
        call.text = response.choices[0]?.message?.content ?? '';
        finished = true;
        if (call.text !== '') call.firstTextAt = clock.now();
      }
      if (!finished) {
        // The SDK ends quietly when a stream stops before [DONE]; as for the router, only a
        // finish_reason proves the answer whole: the caller got a cut stream.
        call.outcome = 'error';
        call.errorKind = 'network';
      } else if (call.text === '') {
        // An empty answer is a failure the caller sees ("200 but wrong"), whoever let it through.
        call.outcome = 'error';
        call.errorKind = 'malformed_response';
      } else call.outcome = 'success';
    } catch (error) {
      call.outcome = 'error';
      call.errorKind = normalizeError(error, { provider: 'gateway', signal }).kind;
    }
    call.endAt = clock.now();
    progress.finished++;
    if (call.outcome === 'success') progress.succeeded++;
    else progress.failed++;
    report();
  };

  const track = (promise: Promise<void>) => {
    const tracked = promise.catch((error) => {
      runError ??= error;
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  };
  const arrivalsOpen = () => !signal.aborted && progress.sent < maxRequests && rel() < arrivalsEndMs;

  let index = 0;
  if (load.rate !== undefined) {
    const random = mulberry32(deriveSeed(seed, 'arrivals'));
    await new Promise<void>((resolveArrivals) => {
      const onAbortArrivals = () => resolveArrivals();
      signal.addEventListener('abort', onAbortArrivals, { once: true });
      const arrive = () => {
        if (!arrivalsOpen()) return done();
        track(send(makeRequest(index++)));
        const gap = arrivalGapMs(load, random);
        if (rel() + gap >= arrivalsEndMs) return done();
        clock.setTimer(gap, arrive);
      };
      const done = () => {
        signal.removeEventListener('abort', onAbortArrivals);
        resolveArrivals();
      };
      clock.setTimer(0, arrive);
    });
  } else {
    const workers = load.concurrency ?? 1;
    const think = load.thinkTime ?? 0;
    const worker = async (): Promise<void> => {
      while (arrivalsOpen()) {
        await send(makeRequest(index++));
        if (think > 0 && arrivalsOpen()) await clock.sleep(think, signal).catch(() => undefined);
      }
    };
    for (let w = 0; w < workers; w++) track(worker());
  }

  // Drain: in-flight requests may take up to load.drainTimeout after arrivals end (open loop: now;
  // closed loop: at load.duration, if any).
  let drained = false;
  const drainAt = load.rate !== undefined ? rel() : arrivalsEndMs;
  const cancelDrain = Number.isFinite(drainAt)
    ? clock.setTimer(drainAt - rel() + load.drainTimeout, () => {
        if (!drained) runController.abort(new Error('requests were still in flight after load.drainTimeout'));
      })
    : () => {};
  for (let round = 0; round < 1_000_000 && inFlight.size > 0; round++) await Promise.all([...inFlight]);
  drained = true;
  cancelDrain();
  const complete = !signal.aborted && runError === undefined;
  if (signal.aborted && options.signal?.aborted !== true) runError ??= signal.reason;
  return { clients, complete, ...(runError !== undefined ? { error: runError } : {}) };
}
