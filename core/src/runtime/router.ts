import { createHash, type Hash } from 'node:crypto';
import type { Tracer } from '@opentelemetry/api';
import { cacheKey, ResponseCache } from './cache/index.ts';
import { type Clock, RealClock } from './clock.ts';
import { ConfigError } from './config/errors.ts';
import { resolveApiKey, unsetKeyIssues } from './config/load.ts';
import {
  type DeploymentConfig,
  type PoliciesConfig,
  type PolicyOverrides,
  type RouteConfig,
  type RouterConfig,
  type RouterConfigInput,
  routerConfigSchema,
} from './config/schema.ts';
import {
  BudgetLedger,
  costUsd,
  DEFAULT_OUTPUT_ALLOWANCE,
  estimatedUsage,
  estimateInputTokens,
  OutputAllowance,
  priceFor,
  type Reservation,
  type ReserveResult,
  usageProblem,
} from './cost/index.ts';
import { isSwitchyardError, SwitchyardError } from './errors.ts';
import { type CooldownCheck, type CooldownReason, Cooldowns } from './policies/cooldown.ts';
import {
  AttemptDeadline,
  CircuitBreakers,
  LatencyTracker,
  RequestDeadline,
  RetryBudget,
  retryDelayMs,
} from './policies/index.ts';
import type { ProviderAdapter } from './providers/adapter.ts';
import { createAdapter } from './providers/index.ts';
import { effectiveMaxTokens } from './providers/shared.ts';
import { orderDeployments, resolveRoute } from './routing/select.ts';
import { counterNext, rewritesKey, roundRobinKey, setAdd, setRead } from './routing/shared.ts';
import { MemoryStore, type StateOp, type StateStore } from './state.ts';
import { defaultTracer, emitSpans } from './trace/otel.ts';
import type { AttemptRecord, BudgetEvent, CandidateRecord, DecisionTrace } from './trace/trace.ts';
import type {
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EmbedResponse,
  EmbedResult,
  ProviderResult,
  ProviderStreamEvent,
  StreamEvent,
  ToolCall,
  Usage,
} from './types.ts';

export interface RouterOptions {
  config: RouterConfig | RouterConfigInput;
  /** Real time by default; a VirtualClock drives tests and scenario runs. */
  clock?: Clock;
  /**
   * Where the state replicas share lives: breakers, budget ledgers, cooldowns, latency statistics,
   * round-robin counters, learned rewrites and the cache (in memory by default; a RedisStore shares
   * it between processes).
   */
  store?: StateStore;
  /** Source of randomness for jitter and weighted routing; seed it for reproducible runs. */
  random?: () => number;
  /** fetch handed to every SDK client (the in-process simulator hooks in here). Defaults to globalThis.fetch at call time. */
  fetch?: typeof fetch;
  /** Where API keys come from: `apiKey: { env }` reads this (default process.env), `{ secret }` asks `secrets`. */
  env?: Record<string, string | undefined>;
  secrets?: (name: string) => string | undefined;
  tracer?: Tracer;
  /** Trace ids; deterministic ones make scenario journals comparable. */
  newId?: () => string;
  /** Adapters by deployment id, replacing the built-in SDK adapters (custom providers). */
  adapters?: Record<string, ProviderAdapter>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

type TraceListener = (trace: DecisionTrace) => void;

interface AttemptSuccess<T> {
  ok: true;
  value: T;
  record: AttemptRecord;
}
interface AttemptFailure {
  ok: false;
  error: SwitchyardError;
  record: AttemptRecord;
}
type AttemptOutcome<T> = AttemptSuccess<T> | AttemptFailure;

/** A stream whose first token has arrived: the attempt is committed to this deployment. */
interface CommittedStream {
  head: ProviderStreamEvent[];
  rest: AsyncIterator<ProviderStreamEvent>;
  deadline: AttemptDeadline;
  /** Held until the stream ends, then settled with what the stream cost (defect 1 of issue 10). */
  reservation: Reservation | undefined;
  /** The output limit the attempt sent, if any. */
  outputLimit: number | undefined;
}

interface Candidate {
  deployment: DeploymentConfig;
  source: CandidateRecord['source'];
  /** Queued again once its short Retry-After cooldown ran out (at most once per request). */
  afterCooldown?: boolean;
}

/** Everything one request carries through its attempts. */
interface RequestRun {
  request: ChatRequest;
  route: RouteConfig;
  policies: PoliciesConfig;
  trace: DecisionTrace;
  /** The request's total deadline, following the caller's signal. */
  deadline: RequestDeadline;
  /** Aborts on the caller's signal or the request's total deadline (deadline.signal). */
  signal: AbortSignal;
  attemptCount: number;
  /** The route's own retry budget, else the router's (undefined: retries are not budgeted). */
  retryBudget: RetryBudget | undefined;
  /** Budgets apply to the request's tenant: each attempt reserves, settles and has an output limit. */
  budgeted: boolean;
  /**
   * Cooldowns this request's own attempts started, by deployment (until when). They keep other
   * requests away; this request's retries follow its retry policy, which already honoured the wait.
   */
  ownCooldowns?: Map<string, number>;
}

/** What the gate lets through for one attempt. */
interface Admission {
  probe: boolean;
  reservation: Reservation | undefined;
  /** Max tokens the attempt sends although the request set none: the output the reservation covers. */
  outputCap: number | undefined;
}

/** A Lua table answered by a shared store: an empty list arrives as {}. */
function asList<T>(value: unknown): T[] {
  return Array.isArray(value) ? value : [];
}

const HEDGE_LOST = 'hedge lost to a faster attempt';
/** A hedge loser that had outlived its deployment's expected latency: a slow call for its breaker. */
const HEDGE_LOST_SLOW = 'hedge lost to a faster attempt, after outliving its expected latency';
const ABANDONED = 'the caller stopped reading the stream';
/** SHA-256 of '' (hex, first 16): what a stream attempt that delivered no text delivered. */
const EMPTY_TEXT_HASH = 'e3b0c44298fc1c14';

/** The usual list of parameters to rewrite: none (shared, never mutated). */
const NO_PARAMS: readonly string[] = [];
/** The usual tags of a request: none (shared, never mutated). */
const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];

/**
 * A random UUID as a flat string. randomUUID() assembles it from pieces, and V8 keeps such a string as
 * a tree of parts (~490 bytes); the trace holds it for the life of the request. A regular-expression
 * test flattens it in place (~70 bytes; measured with process.memoryUsage over 100k ids).
 */
const UUID_SHAPE = /^[0-9a-f-]{36}$/;
function newTraceId(): string {
  const id = crypto.randomUUID();
  UUID_SHAPE.test(id);
  return id;
}
/** Below this many samples a p95 is noise; hedging uses its configured fallback delay instead. */
const MIN_SAMPLES_FOR_P95 = 20;

/**
 * The routing runtime. One instance serves many concurrent requests; all its state lives in the
 * store, all its time in the clock.
 */
export class Router {
  readonly config: RouterConfig;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly breakers: CircuitBreakers;
  readonly latency: LatencyTracker;
  readonly budgets: BudgetLedger;
  readonly cooldowns: Cooldowns;
  readonly cache: ResponseCache;
  readonly #random: () => number;
  readonly #tracer: Tracer;
  readonly #newId: () => string;
  readonly #adapters = new Map<string, ProviderAdapter>();
  readonly #deployments = new Map<string, DeploymentConfig>();
  readonly #retryBudget: RetryBudget | undefined;
  /** Routes that set a retry.budget of their own count their requests and retries apart. */
  readonly #routeRetryBudgets = new Map<string, RetryBudget>();
  readonly #outputAllowance: OutputAllowance;
  readonly #now = (): number => this.clock.now();
  readonly #listeners = new Set<TraceListener>();

  constructor(options: RouterOptions) {
    this.config = routerConfigSchema.parse(options.config);
    this.clock = options.clock ?? new RealClock();
    this.store = options.store ?? new MemoryStore(this.clock);
    this.#random = options.random ?? Math.random;
    this.#tracer = options.tracer ?? defaultTracer();
    this.#newId = options.newId ?? newTraceId;
    // A probe whose owner vanished frees its slot after the longest an attempt may take.
    this.breakers = new CircuitBreakers(this.store, this.clock, this.config.policies.breaker, {
      probeLeaseMs: this.config.policies.timeouts.attemptMs,
    });
    this.latency = new LatencyTracker(this.store, this.clock);
    this.budgets = new BudgetLedger(this.store, this.clock, this.config.budgets);
    this.cooldowns = new Cooldowns(this.store, this.clock);
    // Output allowances are a per-process guess (cost/allowance.ts): always in this process's memory.
    this.#outputAllowance = new OutputAllowance(new MemoryStore(this.clock));
    this.cache = new ResponseCache(this.store, this.clock, { ttlMs: this.config.cache.ttlMs });
    const retryBudget = this.config.policies.retry.budget;
    this.#retryBudget = retryBudget ? new RetryBudget(this.clock, retryBudget) : undefined;
    const env = options.env ?? process.env;
    // A key variable the config names but that is unset must not become "no key": the SDKs would
    // then send the user's default key (OPENAI_API_KEY…) to this deployment's host.
    const unset = unsetKeyIssues(
      // (a custom adapter brings its own credentials)
      {
        deployments: this.config.deployments.map((d) =>
          options.adapters?.[d.id] ? { ...d, apiKey: undefined } : d,
        ),
      },
      env,
      '<router config>',
      () => ({ line: 0, column: 0 }),
    );
    if (unset.length > 0) throw new ConfigError(unset);
    for (const route of this.config.routes as RouteConfig[]) {
      const own = route.policies?.retry?.budget;
      if (own) this.#routeRetryBudgets.set(route.name, new RetryBudget(this.clock, own));
    }
    for (const deployment of this.config.deployments) {
      this.#deployments.set(deployment.id, deployment);
      const custom = options.adapters?.[deployment.id];
      const apiKey = resolveApiKey(deployment, { env, secrets: options.secrets });
      this.#adapters.set(
        deployment.id,
        custom ?? createAdapter(deployment, { apiKey, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      );
    }
  }

  /** Called with every finished request's decision trace. Returns an unsubscribe function. */
  onTrace(listener: TraceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  deployment(id: string): DeploymentConfig | undefined {
    return this.#deployments.get(id);
  }

  /** One chat completion, with the route's full resilience policy. */
  // Not async: a suspended async function is one more frame held per in-flight request.
  complete(request: ChatRequest, options: CallOptions = {}): Promise<ChatResponse> {
    let run: RequestRun;
    try {
      run = this.#startRun(request, false, options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const cacheable = this.config.cache.enabled && !request.noCache;
    return (cacheable ? this.#completeCached(run) : this.#completeUncached(run)).then(
      (response) => {
        this.#finishRun(run);
        return response;
      },
      (error: unknown) => {
        const failure = this.#asError(error);
        run.trace.outcome = 'error';
        run.trace.error = failure.toJSON();
        this.#finishRun(run);
        throw failure;
      },
    );
  }

  /** A cached answer, one shared with an identical request in flight, or a fresh one (then cached). */
  async #completeCached(run: RequestRun): Promise<ChatResponse> {
    const key = cacheKey(run.route.name, run.request);
    const hit = await this.cache.get(key);
    if (hit) {
      run.trace.cache = 'hit';
      run.trace.outcome = 'success';
      run.trace.finalDeployment = hit.deployment;
      return { ...hit, cached: true, latencyMs: 0, ttftMs: 0, costUsd: 0, traceId: run.trace.id };
    }
    run.trace.cache = 'miss';
    let leader = false;
    const response = await this.cache.singleFlight(key, async () => {
      leader = true;
      const fresh = await this.#completeUncached(run);
      await this.cache.set(key, fresh);
      return fresh;
    });
    if (leader) return response;
    // Another identical request made the call; this one shared its answer.
    run.trace.cache = 'coalesced';
    run.trace.outcome = 'success';
    run.trace.finalDeployment = response.deployment;
    return { ...response, cached: true, costUsd: 0, traceId: run.trace.id };
  }

  /**
   * A streamed chat completion. Before the first token, failures are retried and fall back like
   * complete(); after it, a failure is surfaced as an 'error' event carrying the text streamed so
   * far, and the stream ends: it is never silently restarted (that would duplicate text). The
   * attempt's budget reservation is held until the stream ends and settled once, on every path:
   * with the final usage, or with what was streamed when it failed or the caller stopped reading.
   */
  async *stream(request: ChatRequest, options: CallOptions = {}): AsyncGenerator<StreamEvent> {
    const run = this.#startRun(request, true, options.signal);
    let committed: { value: CommittedStream; deployment: DeploymentConfig; record: AttemptRecord };
    try {
      committed = await this.#runChain(run, (deployment, attempt) =>
        this.#attemptStreamHead(run, deployment, attempt),
      );
    } catch (error) {
      const failure = this.#asError(error);
      run.trace.outcome = 'error';
      run.trace.error = failure.toJSON();
      run.trace.deliveredChars = 0;
      run.trace.deliveredHash = EMPTY_TEXT_HASH;
      this.#finishRun(run);
      yield { type: 'error', error: failure, partialText: '' };
      return;
    }
    const { deployment, value: stream, record } = committed;
    let text = '';
    // Only streams hash what they deliver (the evidence that no text was sent twice), incrementally.
    const delivered = createHash('sha256');
    let usage: Usage | undefined;
    let finishEvent: Extract<ProviderStreamEvent, { type: 'finish' }> | undefined;
    const toolCalls: ProviderResult['toolCalls'] = [];
    const consume = (event: ProviderStreamEvent) => {
      if (event.type === 'text-delta') {
        text += event.text;
        delivered.update(event.text);
      } else if (event.type === 'usage') usage = event.usage;
      else if (event.type === 'tool-call') toolCalls.push(event.call);
      else if (event.type === 'finish') finishEvent = event;
    };
    /** Set before anything is awaited on the success and failure paths; unset means the caller left. */
    let ended = false;
    try {
      yield { type: 'attempt', deployment: deployment.id, attempt: record.n };
      for (const event of stream.head) {
        consume(event);
        yield event;
      }
      for (;;) {
        const next = await stream.rest.next();
        if (next.done) break;
        stream.deadline.chunkReceived();
        consume(next.value);
        yield next.value;
      }
      if (!finishEvent) {
        throw new SwitchyardError('network', {
          message: 'stream ended without a finish event',
          deployment: deployment.id,
          provider: deployment.provider,
        });
      }
      if (run.request.responseFormat === 'json' && finishEvent.finishReason === 'stop' && !isJson(text)) {
        // Only knowable at the end: surfaced with what was streamed, like any failure after the first token.
        throw new SwitchyardError('malformed_response', {
          message: `${deployment.id} streamed an answer that is not valid JSON although JSON mode was requested`,
          deployment: deployment.id,
          provider: deployment.provider,
          status: 200,
        });
      }
      ended = true;
      const charge = this.#charge(run, deployment, usage, answerText(text, toolCalls), stream.outputLimit);
      this.#settleAttempt(record, 'success', charge);
      this.#delivered(run, record, text, delivered);
      // Issued together: one round trip to a shared store (the settle).
      await Promise.all([
        this.#closeReservation(run, record, stream.reservation, charge),
        this.breakers.record(
          deployment.id,
          'success',
          record.probe ?? false,
          record.endedAt - record.startedAt,
        ),
        this.latency.record(deployment.id, {
          latencyMs: record.endedAt - record.startedAt,
          ...(record.ttftMs !== undefined ? { ttftMs: record.ttftMs } : {}),
        }),
      ]);
      if (stream.reservation) await this.#outputAllowance.record(deployment.id, charge.usage.outputTokens);
      run.trace.outcome = 'success';
      run.trace.finalDeployment = deployment.id;
      const response: ChatResponse = {
        id: finishEvent.id ?? run.trace.id,
        text,
        toolCalls,
        finishReason: finishEvent.finishReason,
        usage: charge.usage,
        model: finishEvent.model ?? deployment.model,
        provider: deployment.provider,
        deployment: deployment.id,
        costUsd: charge.cost,
        latencyMs: record.endedAt - run.trace.startedAt,
        ttftMs: record.startedAt - run.trace.startedAt + (record.ttftMs ?? 0),
        cached: false,
        traceId: run.trace.id,
      };
      yield { type: 'done', response };
    } catch (error) {
      // Ended already: the failure is in the clean-up of a finished stream (the store), not the stream.
      if (ended) throw error;
      // After the first token: surface the failure with what was streamed; never restart.
      ended = true;
      const failure = this.#asError(error, deployment);
      await this.#endStreamEarly(run, deployment, stream, record, failure, text, toolCalls, delivered);
      run.trace.outcome = 'error';
      run.trace.error = failure.toJSON();
      yield { type: 'error', error: failure, partialText: text };
    } finally {
      stream.deadline.dispose();
      if (!ended) {
        // The caller stopped reading (break, return, throw in its loop): release the probe slot and
        // settle the reservation now, not when a lease or the attempt timeout would have.
        const abandoned = new SwitchyardError('cancelled', {
          message: ABANDONED,
          deployment: deployment.id,
          provider: deployment.provider,
        });
        await this.#endStreamEarly(run, deployment, stream, record, abandoned, text, toolCalls, delivered);
        run.trace.outcome = 'error';
        run.trace.error = abandoned.toJSON();
      }
      await stream.rest.return?.();
      this.#finishRun(run);
    }
  }

  /**
   * Ends a committed stream that failed or was abandoned after its first token: the attempt is
   * charged what it streamed (estimated from the counted tokens), its breaker verdict given or probe
   * slot freed, its reservation settled, its cost counted as waste.
   */
  async #endStreamEarly(
    run: RequestRun,
    deployment: DeploymentConfig,
    stream: CommittedStream,
    record: AttemptRecord,
    failure: SwitchyardError,
    text: string,
    toolCalls: readonly ToolCall[],
    delivered: Hash,
  ): Promise<void> {
    const charge = this.#charge(run, deployment, undefined, answerText(text, toolCalls), stream.outputLimit);
    this.#settleAttempt(record, failure.kind === 'cancelled' ? 'aborted' : 'error', charge, failure);
    record.next = 'give-up';
    this.#delivered(run, record, text, delivered);
    run.trace.wastedUsd += charge.cost;
    run.trace.partialTextChars = text.length;
    const probe = record.probe ?? false;
    await Promise.all([
      failure.kind !== 'cancelled' && this.breakers.countsAsFailure(failure)
        ? this.breakers.record(deployment.id, 'failure', probe)
        : this.breakers.release(deployment.id, probe),
      this.#coolDown(run, deployment, failure),
      this.#closeReservation(run, record, stream.reservation, charge),
    ]);
  }

  /** The text a stream delivered, on its attempt and on the request (length and hash). */
  #delivered(run: RequestRun, record: AttemptRecord, text: string, delivered: Hash): void {
    const hash = delivered.digest('hex').slice(0, 16);
    record.deliveredChars = text.length;
    record.deliveredHash = hash;
    run.trace.deliveredChars = text.length;
    run.trace.deliveredHash = hash;
  }

  // ---------------------------------------------------------------------------------------------
  // The chain: candidates in order, attempts with retries on each, special fallback chains.

  // Not async: a suspended async function is one more frame held per in-flight request.
  #completeUncached(run: RequestRun): Promise<ChatResponse> {
    return this.#runChain(run, (deployment, attempt) => this.#attemptComplete(run, deployment, attempt)).then(
      ({ value, deployment, record }) => {
        const served = this.#succeeded(run, deployment, record);
        return { ...value, ...served, ttftMs: served.latencyMs, cached: false };
      },
    );
  }

  /** Marks the run a success on this deployment, and answers the fields every kind of response carries. */
  #succeeded(run: RequestRun, deployment: DeploymentConfig, record: AttemptRecord) {
    run.trace.outcome = 'success';
    run.trace.finalDeployment = deployment.id;
    return {
      provider: deployment.provider,
      deployment: deployment.id,
      costUsd: record.costUsd,
      latencyMs: this.clock.now() - run.trace.startedAt,
      traceId: run.trace.id,
    };
  }

  /**
   * Walks the candidates: the route's deployments in strategy order, then its fallbacks, with
   * special chains spliced in on context overflow and content filtering. On each candidate it
   * retries per the retry policy; it moves on when the error allows a fallback.
   */
  async #runChain<T>(
    run: RequestRun,
    attemptOn: (deployment: DeploymentConfig, attempt: AttemptParams) => Promise<AttemptOutcome<T>>,
  ): Promise<{ value: T; deployment: DeploymentConfig; record: AttemptRecord }> {
    const queue =
      run.route.strategy === 'least-latency'
        ? await this.#initialCandidatesByLatency(run)
        : this.#initialCandidates(
            run,
            undefined,
            // The counter is shared, so replicas take turns as one router would (one round trip).
            run.route.strategy === 'round-robin'
              ? await this.store.run(counterNext(roundRobinKey(run.route.name), {}))
              : 0,
          );
    let lastError: SwitchyardError | undefined;
    let hedgeAvailable = run.policies.hedge.enabled && !run.trace.stream;

    /** Candidates skipped for a Retry-After cooldown short enough to wait for, if nothing else serves. */
    let cooling: Array<{ candidate: Candidate; until: number }> | undefined;

    for (;;) {
      while (queue.length > 0) {
        const candidate = queue.shift()!;
        const { deployment } = candidate;
        const candidateRecord: CandidateRecord = { deployment: deployment.id, source: candidate.source };
        if (candidate.afterCooldown) candidateRecord.detail = 'tried again once its cooldown ran out';
        run.trace.candidates = appended(run.trace.candidates, candidateRecord);

        const skip = this.#contextWindowSkip(run, deployment);
        if (skip) {
          candidateRecord.skipped = 'context-window';
          candidateRecord.detail = skip;
          lastError ??= new SwitchyardError('context_overflow', { message: skip, deployment: deployment.id });
          continue;
        }

        // Parameters to rewrite on this deployment: learned earlier (read by the gate), or rejected
        // during this request.
        let rewrite: Set<string> | undefined;
        for (let tryNo = 1; ; tryNo++) {
          const gate = await this.#gate(run, deployment, candidateRecord);
          if (!gate.ok) {
            lastError = gate.error;
            if (
              candidateRecord.skipped === 'cooldown' &&
              gate.error.kind === 'rate_limited' &&
              !candidate.afterCooldown
            ) {
              cooling ??= [];
              cooling.push({ candidate, until: candidateRecord.until! });
            }
            break;
          }
          if (tryNo === 1 && gate.learned.length > 0) rewrite = new Set(gate.learned);
          const params: AttemptParams = {
            probe: gate.probe,
            rewriteParams: rewrite ? [...rewrite] : NO_PARAMS,
            hedge: false,
            reservation: gate.reservation,
            outputCap: gate.outputCap,
          };
          let outcome: AttemptOutcome<T>;
          if (hedgeAvailable && tryNo === 1) {
            hedgeAvailable = false;
            outcome = await this.#hedged(run, deployment, params, queue, attemptOn);
          } else {
            outcome = await attemptOn(deployment, params);
          }
          const { record } = outcome;
          if (outcome.ok) {
            record.next = 'done';
            return { value: outcome.value, deployment: this.#deployments.get(record.deployment)!, record };
          }
          const error = outcome.error;
          lastError = error;
          if (error.kind === 'cancelled' || run.signal.aborted) {
            record.next = 'give-up';
            throw run.signal.aborted ? this.#asError(run.signal.reason) : error;
          }

          // The provider rejected a parameter: same deployment, parameter rewritten, no backoff.
          if (error.kind === 'unsupported_parameter' && error.param && !rewrite?.has(error.param)) {
            rewrite ??= new Set();
            rewrite.add(error.param);
            await this.store.run(setAdd(rewritesKey(deployment.id), { member: error.param }));
            record.next = 'rewrite-and-retry';
            record.rewrittenParams = [...rewrite];
            record.delayReason = 'none';
            continue;
          }

          const decision = retryDelayMs(
            error,
            tryNo,
            run.policies.retry,
            this.#random,
            run.deadline.remainingMs(),
          );
          if (decision.action === 'retry' && run.retryBudget && !run.retryBudget.tryAcquireRetry()) {
            run.trace.retryBudgetDenied++;
            record.fallbackReason = 'retry-budget-denied';
          } else if (decision.action === 'retry') {
            record.next = 'retry';
            record.delayBeforeNextMs = decision.delayMs;
            record.delayReason = decision.reason;
            await run.deadline.sleep(decision.delayMs).catch(() => {
              throw this.#asError(run.signal.reason);
            });
            continue;
          } else {
            record.fallbackReason = decision.reason;
          }

          if (!this.#mayFallBack(run, error)) {
            record.next = 'give-up';
            throw error;
          }
          record.next = 'fallback';
          const special =
            error.kind === 'context_overflow'
              ? { ids: run.route.onContextOverflow, source: 'context-overflow' as const }
              : error.kind === 'content_filtered'
                ? { ids: run.route.onContentFiltered, source: 'content-filtered' as const }
                : undefined;
          if (special) {
            // Every deployment not tried yet (one still queued may come again, sooner).
            const extra = special.ids
              .filter((id) => !run.trace.attempts.some((a) => a.deployment === id))
              .map((id) => ({ deployment: this.#deployments.get(id)!, source: special.source }));
            queue.unshift(...extra);
          }
          break;
        }
      }
      // Nothing served, but a deployment only waits out a short Retry-After: wait for it, as the retry
      // policy would have (under the cap, and only if it ends before the request's deadline).
      const next = this.#soonestCooldown(run, cooling);
      if (!next) break;
      cooling = cooling!.filter((c) => c !== next);
      await run.deadline.sleep(next.until - this.clock.now()).catch(() => {
        throw this.#asError(run.signal.reason);
      });
      queue.push({ ...next.candidate, afterCooldown: true });
    }
    // The chain ran out: the last attempt's fallback found nowhere left to go.
    const last = run.trace.attempts.at(-1);
    if (last?.next === 'fallback') last.next = 'give-up';
    throw (
      lastError ??
      new SwitchyardError('bad_request', { message: `route "${run.route.name}" has no usable deployment` })
    );
  }

  #soonestCooldown(
    run: RequestRun,
    cooling: Array<{ candidate: Candidate; until: number }> | undefined,
  ): { candidate: Candidate; until: number } | undefined {
    let soonest: { candidate: Candidate; until: number } | undefined;
    for (const entry of cooling ?? []) if (!soonest || entry.until < soonest.until) soonest = entry;
    if (!soonest) return undefined;
    const waitMs = soonest.until - this.clock.now();
    if (waitMs > run.policies.retry.retryAfterCapMs || soonest.until >= run.deadline.endsAt) return undefined;
    return soonest;
  }

  /**
   * Pre-call checks for one attempt: cooldown, breaker, then budget, in one sequence of store
   * operations (one round trip to a shared store) that stops at the first refusal; it also reads the
   * parameters the deployment is known to reject.
   */
  async #gate(
    run: RequestRun,
    deployment: DeploymentConfig,
    candidateRecord: CandidateRecord,
  ): Promise<({ ok: true; learned: readonly string[] } & Admission) | { ok: false; error: SwitchyardError }> {
    const budget = run.budgeted ? await this.#reservation(run, deployment) : undefined;
    const breakerOp = this.breakers.acquireOp(deployment.id);
    const ops: StateOp[] = [this.cooldowns.checkOp(deployment.id, run.ownCooldowns?.get(deployment.id))];
    if (breakerOp) ops.push(breakerOp);
    if (budget?.op) ops.push(budget.op);
    ops.push(setRead(rewritesKey(deployment.id), {}));
    const results = await this.store.runAll(ops);

    const cooling = results[0] as CooldownCheck;
    if (cooling.stop) {
      const waitMs = cooling.until - this.clock.now();
      const why = cooling.reason === 'quota' ? 'its quota is exhausted' : 'its provider asked to retry later';
      candidateRecord.skipped ??= 'cooldown';
      candidateRecord.detail = `cooling down for ${waitMs} ms more: ${why}`;
      candidateRecord.until = cooling.until;
      return {
        ok: false,
        error: new SwitchyardError(cooling.reason === 'quota' ? 'quota_exhausted' : 'rate_limited', {
          message: `${deployment.id} is cooling down for ${waitMs} ms more: ${why}`,
          deployment: deployment.id,
          provider: deployment.provider,
          retryAfterMs: waitMs,
        }),
      };
    }
    const breaker = this.breakers.acquired(
      breakerOp && (results[1] as Parameters<CircuitBreakers['acquired']>[0]),
    );
    if (!breaker.allowed) {
      candidateRecord.skipped ??= 'breaker-open';
      candidateRecord.detail = `breaker open, next probe in ${breaker.retryInMs} ms`;
      candidateRecord.until = this.clock.now() + breaker.retryInMs;
      return {
        ok: false,
        error: new SwitchyardError('circuit_open', {
          message: `circuit open for ${deployment.id}`,
          deployment: deployment.id,
          retryAfterMs: breaker.retryInMs,
        }),
      };
    }
    const learned = asList<string>(results.at(-1));
    if (!budget)
      return { ok: true, probe: breaker.probe, reservation: undefined, outputCap: undefined, learned };
    const tenant = run.request.tenant ?? 'default';
    const attempt = run.attemptCount + 1;
    try {
      const result = budget.op && (results[breakerOp ? 2 : 1] as ReserveResult);
      const reservation = this.budgets.reserved(budget.op, result, tenant, budget.estimate);
      this.#budgetEvent(run, { op: 'reserve', tenant, attempt, amountUsd: budget.estimate });
      return { ok: true, probe: breaker.probe, reservation, outputCap: budget.outputCap, learned };
    } catch (error) {
      this.#budgetEvent(run, { op: 'refuse', tenant, attempt, amountUsd: budget.estimate });
      await this.breakers.release(deployment.id, breaker.probe);
      const failure = this.#asError(error, deployment);
      candidateRecord.skipped ??= 'budget';
      candidateRecord.detail = failure.message;
      return { ok: false, error: failure };
    }
  }

  /**
   * What the attempt must hold in the budget ledger: the prompt as counted plus the output it may
   * produce, which is the request's max tokens, or else the deployment's observed allowance — then
   * sent as the attempt's max tokens, so settle can never charge more than was reserved.
   */
  async #reservation(run: RequestRun, deployment: DeploymentConfig) {
    const price = this.#priceOf(deployment);
    // The schema refuses budgets with an unpriced deployment; a custom config object that slipped past it
    // holds nothing (and costs $0 in every trace).
    if (!price) return undefined;
    const requested = effectiveMaxTokens(run.request, deployment);
    const outputTokens =
      requested ??
      (await this.#outputAllowance.allowance(
        deployment.id,
        deployment.maxOutputTokens ?? DEFAULT_OUTPUT_ALLOWANCE,
      ));
    const estimate = (run.trace.estimatedInputTokens * price.input + outputTokens * price.output) / 1_000_000;
    return {
      op: this.budgets.reserveOp(run.request.tenant ?? 'default', estimate),
      estimate,
      outputCap: requested === undefined ? outputTokens : undefined,
    };
  }

  /** Settles an attempt's reservation (once) at what the attempt cost. */
  async #closeReservation(
    run: RequestRun,
    record: AttemptRecord,
    reservation: Reservation | undefined,
    charge: Charge,
  ): Promise<void> {
    if (!reservation) return;
    this.#budgetEvent(run, {
      op: 'settle',
      tenant: reservation.tenant,
      attempt: record.n,
      amountUsd: charge.cost,
      ...(charge.estimated ? { estimated: true } : {}),
    });
    await this.budgets.settle(reservation, charge.cost);
  }

  #budgetEvent(run: RequestRun, event: Omit<BudgetEvent, 'at'>): void {
    run.trace.budgetEvents = appended(run.trace.budgetEvents ?? [], { at: this.clock.now(), ...event });
  }

  /**
   * Hedging: start the primary; if it has not answered after the hedge delay, start a backup on the
   * next candidate (or the same deployment when it is the only one). The first success wins; the
   * others are aborted, and what they cost is counted as waste. A loser that had outlived the hedge
   * delay (its deployment's expected latency) is a slow call for its breaker.
   */
  async #hedged<T>(
    run: RequestRun,
    primary: DeploymentConfig,
    params: AttemptParams,
    queue: Candidate[],
    attemptOn: (deployment: DeploymentConfig, attempt: AttemptParams) => Promise<AttemptOutcome<T>>,
  ): Promise<AttemptOutcome<T>> {
    const hedge = run.policies.hedge;
    const delayMs =
      hedge.delay === 'p95' ? await this.#observedP95(primary.id, hedge.fallbackDelayMs) : hedge.delay;
    const racers: Array<{
      controller: AbortController;
      promise: Promise<AttemptOutcome<T>>;
      startedAt: number;
    }> = [];
    const start = (deployment: DeploymentConfig, isHedge: boolean, admission: Admission) => {
      const controller = new AbortController();
      const signal = AbortSignal.any([run.signal, controller.signal]);
      const promise = attemptOn(deployment, { ...params, ...admission, hedge: isHedge, signal });
      racers.push({ controller, promise, startedAt: this.clock.now() });
      if (isHedge) run.trace.hedges.push({ at: this.clock.now(), deployment: deployment.id, won: false });
    };
    start(primary, false, params);

    const pending = new Set<Promise<AttemptOutcome<T>>>([racers[0]!.promise]);
    let hedgesLeft = hedge.maxHedges;
    let firstFailure: AttemptFailure | undefined;
    // One timer per hedge, cancelled when the race ends: no timer outlives the request.
    const stopTimers = new AbortController();
    const timerSignal = AbortSignal.any([run.signal, stopTimers.signal]);
    const armHedge = () =>
      hedgesLeft > 0
        ? this.clock.sleep(delayMs, timerSignal).then(
            () => 'hedge' as const,
            () => 'aborted' as const,
          )
        : undefined;
    let hedgeTimer = armHedge();
    try {
      for (;;) {
        const settled = await Promise.race([
          ...[...pending].map((p) => p.then((outcome) => ({ p, outcome }))),
          ...(hedgeTimer ? [hedgeTimer] : []),
        ]);
        if (settled === 'aborted') {
          // The request was cancelled or ran out of time: no more hedges; the racers see the same
          // abort and settle, and the loop collects them.
          hedgesLeft = 0;
          hedgeTimer = undefined;
          continue;
        }
        if (settled === 'hedge') {
          hedgesLeft--;
          const backup = await this.#pickHedgeTarget(run, primary, queue);
          if (backup) {
            start(backup.deployment, true, backup.admission);
            pending.add(racers.at(-1)!.promise);
          }
          hedgeTimer = armHedge();
          continue;
        }
        pending.delete(settled.p);
        if (settled.outcome.ok) {
          const winner = settled.outcome;
          const hedgeRecord = run.trace.hedges.find(
            (h) => h.deployment === winner.record.deployment && winner.record.hedge,
          );
          if (hedgeRecord) hedgeRecord.won = true;
          const now = this.clock.now();
          for (const racer of racers) {
            if (racer.promise === settled.p) continue;
            const slow = now - racer.startedAt >= delayMs;
            racer.controller.abort(
              new SwitchyardError('cancelled', { message: slow ? HEDGE_LOST_SLOW : HEDGE_LOST }),
            );
          }
          // Wait for the losers so their cost is known and their breaker verdicts recorded.
          const losers = await Promise.all([...pending]);
          for (const loser of losers) {
            loser.record.outcome = 'aborted';
            loser.record.next = 'done';
            run.trace.wastedUsd += loser.record.costUsd;
          }
          return winner;
        }
        firstFailure ??= settled.outcome;
        // Every racer failed: no point waiting for a hedge, the chain decides what comes next.
        if (pending.size === 0) return firstFailure;
      }
    } finally {
      stopTimers.abort();
    }
  }

  /** The primary's observed p95 latency, once there are enough samples to mean anything. */
  async #observedP95(deploymentId: string, fallbackDelayMs: number): Promise<number> {
    const stats = await this.latency.stats(deploymentId);
    return stats && stats.samples >= MIN_SAMPLES_FOR_P95 ? stats.p95LatencyMs : fallbackDelayMs;
  }

  /** The hedge goes to the next candidate that passes its gate, else to the primary again. */
  async #pickHedgeTarget(
    run: RequestRun,
    primary: DeploymentConfig,
    queue: Candidate[],
  ): Promise<{ deployment: DeploymentConfig; admission: Admission } | undefined> {
    const options = [...queue.map((c) => c.deployment), primary];
    for (const deployment of options) {
      if (this.#contextWindowSkip(run, deployment)) continue;
      const record: CandidateRecord = { deployment: deployment.id, source: 'route' };
      const gate = await this.#gate(run, deployment, record);
      if (!gate.ok) continue;
      if (gate.probe) {
        // A half-open breaker's single probe is not spent on a hedge.
        await this.breakers.release(deployment.id, true);
        if (gate.reservation) {
          this.#budgetEvent(run, {
            op: 'settle',
            tenant: gate.reservation.tenant,
            attempt: run.attemptCount + 1,
            amountUsd: 0,
          });
          await this.budgets.release(gate.reservation);
        }
        continue;
      }
      return { deployment, admission: gate };
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // One attempt.

  /** The request as this attempt sends it: with the output limit its reservation covers, if it set none. */
  #requestFor(run: RequestRun, params: AttemptParams): ChatRequest {
    return params.outputCap === undefined
      ? run.request
      : { ...run.request, maxOutputTokens: params.outputCap };
  }

  // Not async: a suspended async function (~550 bytes with its registers and its await) would be held
  // for as long as the call is in flight; #attemptSettled runs once the call has ended.
  #attemptComplete(
    run: RequestRun,
    deployment: DeploymentConfig,
    params: AttemptParams,
  ): Promise<AttemptOutcome<ProviderResult>> {
    const record = this.#openAttempt(run, deployment, params);
    const deadline = new AttemptDeadline(this.clock, run.policies.timeouts, params.signal ?? run.deadline, {
      streaming: false,
      notAfter: run.deadline.endsAt,
    });
    const request = this.#requestFor(run, params);
    let call: Promise<ProviderResult>;
    try {
      call = this.#adapter(deployment).complete(request, {
        signal: deadline.signal,
        onResponseHeaders: () => deadline.headersReceived(),
        onBodyChunk: () => deadline.bodyChunkReceived(),
        rewriteParams: params.rewriteParams,
        now: this.#now,
      });
    } catch (thrown) {
      call = Promise.reject(thrown);
    }
    const settle = () => this.#attemptSettled(run, deployment, params, record, deadline, request, call);
    return call.then(settle, settle);
  }

  /** A non-streamed attempt whose call has ended: its answer checked, charged and settled, or its failure. */
  async #attemptSettled(
    run: RequestRun,
    deployment: DeploymentConfig,
    params: AttemptParams,
    record: AttemptRecord,
    deadline: AttemptDeadline,
    request: ChatRequest,
    call: Promise<ProviderResult>,
  ): Promise<AttemptOutcome<ProviderResult>> {
    try {
      const result = await call;
      record.ttftMs = this.clock.now() - record.startedAt;
      const text = typeof result.text === 'string' ? result.text : '';
      const charge = this.#charge(
        run,
        deployment,
        result.usage,
        answerText(text, result.toolCalls),
        effectiveMaxTokens(request, deployment),
      );
      const filtered = this.#filteredError(run, deployment, result);
      if (filtered) {
        this.#settleAttempt(record, 'error', charge, filtered);
        run.trace.wastedUsd += charge.cost;
        await Promise.all([
          this.breakers.release(deployment.id, params.probe),
          this.#closeReservation(run, record, params.reservation, charge),
        ]);
        return { ok: false, error: filtered, record };
      }
      const wrong = this.#wrongAnswer(run, deployment, result);
      if (wrong) return await this.#settleUselessAnswer(run, deployment, record, params, charge, wrong);
      await this.#settleGoodAnswer(run, deployment, record, params, charge);
      if (params.reservation) await this.#outputAllowance.record(deployment.id, charge.usage.outputTokens);
      return { ok: true, value: { ...result, usage: charge.usage }, record };
    } catch (thrown) {
      const error = this.#asError(thrown, deployment, deadline.signal);
      return this.#failAttempt(run, record, error, params, this.#hedgeLossCharge(run, deployment, error));
    } finally {
      deadline.dispose();
    }
  }

  /** A billed answer that is useless (wrong shape, wrong count): a failure of the deployment, its cost waste. */
  async #settleUselessAnswer(
    run: RequestRun,
    deployment: DeploymentConfig,
    record: AttemptRecord,
    params: AttemptParams,
    charge: Charge,
    wrong: SwitchyardError,
  ): Promise<AttemptFailure> {
    this.#settleAttempt(record, 'error', charge, wrong);
    run.trace.wastedUsd += charge.cost;
    await Promise.all([
      this.breakers.record(deployment.id, 'failure', params.probe),
      this.#closeReservation(run, record, params.reservation, charge),
    ]);
    return { ok: false, error: wrong, record };
  }

  /**
   * A good non-streamed answer: settled, and taught to the breaker and the latency statistics, issued
   * together (one round trip to a shared store: the settle). Non-streamed calls say nothing about
   * time to first token: latency only.
   */
  async #settleGoodAnswer(
    run: RequestRun,
    deployment: DeploymentConfig,
    record: AttemptRecord,
    params: AttemptParams,
    charge: Charge,
  ): Promise<void> {
    this.#settleAttempt(record, 'success', charge);
    const took = record.endedAt - record.startedAt;
    await Promise.all([
      this.#closeReservation(run, record, params.reservation, charge),
      this.breakers.record(deployment.id, 'success', params.probe, took),
      this.latency.record(deployment.id, { latencyMs: took }),
    ]);
  }

  /** Opens a stream and reads until its first token; that commits the request to this deployment. */
  async #attemptStreamHead(
    run: RequestRun,
    deployment: DeploymentConfig,
    params: AttemptParams,
  ): Promise<AttemptOutcome<CommittedStream>> {
    const record = this.#openAttempt(run, deployment, params);
    const deadline = new AttemptDeadline(this.clock, run.policies.timeouts, params.signal ?? run.deadline, {
      streaming: true,
      notAfter: run.deadline.endsAt,
    });
    const request = this.#requestFor(run, params);
    let iterator: AsyncIterator<ProviderStreamEvent> | undefined;
    try {
      iterator = this.#adapter(deployment)
        .stream(request, {
          signal: deadline.signal,
          onResponseHeaders: () => deadline.headersReceived(),
          rewriteParams: params.rewriteParams,
          now: this.#now,
        })
        [Symbol.asyncIterator]();
      const head: ProviderStreamEvent[] = [];
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          throw new SwitchyardError('network', {
            message: 'stream ended before its first token',
            deployment: deployment.id,
            provider: deployment.provider,
          });
        }
        deadline.chunkReceived();
        head.push(next.value);
        if (
          next.value.type === 'text-delta' ||
          next.value.type === 'tool-call' ||
          next.value.type === 'finish'
        )
          break;
      }
      const first = head.at(-1)!;
      if (first.type === 'finish') {
        // Finished before its first token: nothing reached the caller yet, so an empty answer can
        // still be retried or fall back like any other failed attempt.
        const usage = head.find((e) => e.type === 'usage')?.usage;
        const wrong = this.#wrongAnswer(run, deployment, {
          id: first.id ?? '',
          text: '',
          toolCalls: [],
          finishReason: first.finishReason,
          usage: usage ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
          model: first.model ?? deployment.model,
        });
        if (wrong) throw wrong;
      }
      record.ttftMs = this.clock.now() - record.startedAt;
      // The record stays open until the stream ends; stream() settles it, and the reservation with it.
      return {
        ok: true,
        value: {
          head,
          rest: iterator,
          deadline,
          reservation: params.reservation,
          outputLimit: effectiveMaxTokens(request, deployment),
        },
        record,
      };
    } catch (thrown) {
      deadline.dispose();
      await iterator?.return?.().catch(() => undefined);
      const error = this.#asError(thrown, deployment, deadline.signal);
      return this.#failAttempt(run, record, error, params, NO_CHARGE);
    }
  }

  #openAttempt(run: RequestRun, deployment: DeploymentConfig, params: AttemptParams): AttemptRecord {
    run.attemptCount++;
    const record: AttemptRecord = {
      n: run.attemptCount,
      deployment: deployment.id,
      provider: deployment.provider,
      model: deployment.model,
      startedAt: this.clock.now(),
      endedAt: this.clock.now(),
      outcome: 'error',
      costUsd: 0,
      ...(params.hedge ? { hedge: true } : {}),
      ...(params.probe ? { probe: true } : {}),
      ...(params.rewriteParams.length > 0 ? { rewrittenParams: [...params.rewriteParams] } : {}),
      // A stream attempt delivers nothing until it is committed (stream() then records what it delivered).
      ...(run.trace.stream ? { deliveredChars: 0, deliveredHash: EMPTY_TEXT_HASH } : {}),
    };
    run.trace.attempts = appended(run.trace.attempts, record);
    return record;
  }

  /**
   * Ends a failed attempt: its breaker verdict (a hedge loser that outlived its expected latency is a
   * slow call; any other cancel frees a probe slot), a cooldown if the provider asked for one, and its
   * reservation settled.
   */
  async #failAttempt(
    run: RequestRun,
    record: AttemptRecord,
    error: SwitchyardError,
    params: AttemptParams,
    charge: Charge,
  ): Promise<AttemptFailure> {
    const aborted = error.kind === 'cancelled';
    this.#settleAttempt(record, aborted ? 'aborted' : 'error', charge, error);
    let verdict: Promise<void>;
    if (aborted && error.message === HEDGE_LOST_SLOW) {
      record.slow = true;
      verdict = this.breakers.record(record.deployment, 'slow', params.probe);
    } else if (!aborted && this.breakers.countsAsFailure(error))
      verdict = this.breakers.record(record.deployment, 'failure', params.probe);
    else verdict = this.breakers.release(record.deployment, params.probe);
    // Issued together: one round trip to a shared store.
    await Promise.all([
      verdict,
      this.#coolDown(run, this.#deployments.get(record.deployment)!, error),
      this.#closeReservation(run, record, params.reservation, charge),
    ]);
    return { ok: false, error, record };
  }

  /**
   * A provider that named a wait (Retry-After on a 429, 503 or 529) or whose quota is gone is taken
   * out of rotation for every request, not only the one that was told (defects 3 and 12 of issue 10).
   */
  async #coolDown(run: RequestRun, deployment: DeploymentConfig, error: SwitchyardError): Promise<void> {
    const policy = this.config.policies.cooldown;
    let ms = 0;
    let reason: CooldownReason = 'retry-after';
    if (error.kind === 'quota_exhausted') {
      ms = policy.quotaExhaustedMs;
      reason = 'quota';
    } else if (policy.retryAfter && error.retryAfterMs !== undefined) {
      ms = Math.min(error.retryAfterMs, policy.maxMs);
    }
    if (ms <= 0) return;
    await this.cooldowns.start(deployment.id, ms, reason);
    run.ownCooldowns ??= new Map();
    run.ownCooldowns.set(deployment.id, this.clock.now() + ms);
  }

  #settleAttempt(
    record: AttemptRecord,
    outcome: AttemptRecord['outcome'],
    charge: Charge,
    error?: SwitchyardError,
  ): void {
    record.endedAt = this.clock.now();
    record.outcome = outcome;
    record.costUsd = charge.cost;
    if (charge.usage !== NO_USAGE) record.usage = charge.usage;
    if (charge.estimated) record.costEstimated = true;
    if (error) {
      record.errorKind = error.kind;
      record.error = error.toJSON();
      if (error.status !== undefined) record.status = error.status;
      if (error.retryAfterMs !== undefined) record.retryAfterMs = error.retryAfterMs;
      if (error.timeoutPhase !== undefined && error.kind === 'timeout')
        record.timeoutPhase = error.timeoutPhase;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  #startRun(request: ChatRequest, stream: boolean, callerSignal: AbortSignal | undefined): RequestRun {
    const route = resolveRoute(this.config, request);
    const policies = mergePolicies(this.config.policies, route.policies);
    const now = this.clock.now();
    const deadline = new RequestDeadline(this.clock, policies.timeouts.totalMs, callerSignal);
    const retryBudget = this.#routeRetryBudgets.get(route.name) ?? this.#retryBudget;
    retryBudget?.recordRequest();
    const trace: DecisionTrace = {
      id: this.#newId(),
      route: route.name,
      stream,
      ...(request.tenant ? { tenant: request.tenant } : {}),
      tags: request.tags ?? NO_TAGS,
      ...(request.task ? { task: request.task } : {}),
      ...(request.tier ? { tier: request.tier } : {}),
      startedAt: now,
      estimatedInputTokens: estimateInputTokens(request),
      cache: 'off',
      candidates: [],
      attempts: [],
      hedges: [],
      retryBudgetDenied: 0,
      costUsd: 0,
      wastedUsd: 0,
    };
    return {
      request,
      route,
      policies,
      trace,
      deadline,
      signal: deadline.signal,
      attemptCount: 0,
      retryBudget,
      budgeted: this.config.budgets.length > 0 && this.budgets.applies(request.tenant),
    };
  }

  #finishRun(run: RequestRun): void {
    run.deadline.dispose();
    const trace = run.trace;
    trace.endedAt = this.clock.now();
    trace.costUsd = trace.attempts.reduce((sum, a) => sum + a.costUsd, 0);
    emitSpans(this.#tracer, trace);
    for (const listener of this.#listeners) listener(trace);
  }

  /** least-latency needs the latency statistics (from the store) first; no other strategy waits. */
  async #initialCandidatesByLatency(run: RequestRun): Promise<Candidate[]> {
    const latencies = new Map<string, number | undefined>();
    for (const id of run.route.deployments) latencies.set(id, (await this.latency.stats(id))?.ewmaLatencyMs);
    return this.#initialCandidates(run, latencies, 0);
  }

  #initialCandidates(
    run: RequestRun,
    latencies: Map<string, number | undefined> | undefined,
    rr: number,
  ): Candidate[] {
    const { route } = run;
    const routeDeployments = route.deployments.map((id) => this.#deployments.get(id)!);
    const ordered = orderDeployments(route, routeDeployments, {
      random: this.#random,
      roundRobinIndex: rr,
      latencyMs: (id) => latencies?.get(id),
      costUsd: (d) => {
        const price = this.#priceOf(d);
        if (!price) return undefined;
        const out = run.request.maxOutputTokens ?? 256;
        return (run.trace.estimatedInputTokens * price.input + out * price.output) / 1_000_000;
      },
    });
    const candidates: Candidate[] = ordered.map((deployment) => ({ deployment, source: 'route' }));
    for (const id of route.fallbacks) {
      if (candidates.some((c) => c.deployment.id === id)) continue;
      candidates.push({ deployment: this.#deployments.get(id)!, source: 'fallback' });
    }
    return candidates;
  }

  #contextWindowSkip(run: RequestRun, deployment: DeploymentConfig): string | undefined {
    const window = deployment.contextWindow;
    if (!window) return undefined;
    const needed = run.trace.estimatedInputTokens + (run.request.maxOutputTokens ?? 0);
    if (needed <= window) return undefined;
    return `needs ~${needed} tokens, context window is ${window}`;
  }

  /** A filtered/refused answer becomes a content_filtered error when the route has somewhere else to go. */
  #filteredError(
    run: RequestRun,
    deployment: DeploymentConfig,
    result: ProviderResult,
  ): SwitchyardError | undefined {
    if (result.finishReason !== 'content_filter' && result.finishReason !== 'refusal') return undefined;
    if (run.route.onContentFiltered.length === 0) return undefined;
    return new SwitchyardError('content_filtered', {
      message: `${deployment.id} answered with finish reason ${result.finishReason}`,
      deployment: deployment.id,
      provider: deployment.provider,
    });
  }

  /**
   * "200 but wrong": an answer that says it finished normally yet carries nothing, or that is not
   * JSON although JSON mode was asked for. Another attempt or provider can fix both, so they become
   * malformed_response errors instead of successes. A 'length' finish is left to the caller: the
   * text is cut where the caller's token limit said, and finishReason tells it so.
   */
  #wrongAnswer(
    run: RequestRun,
    deployment: DeploymentConfig,
    result: ProviderResult,
  ): SwitchyardError | undefined {
    // The built-in adapters check the wire format; this catches a custom adapter's (defect 13 of issue 10).
    const notText = typeof result.text !== 'string';
    if (!notText && (result.finishReason !== 'stop' || result.toolCalls.length > 0)) return undefined;
    const problem = notText
      ? `an answer whose text is a ${typeof result.text}, not a string`
      : result.text.trim() === ''
        ? 'an empty answer'
        : run.request.responseFormat === 'json' && !isJson(result.text)
          ? 'an answer that is not valid JSON although JSON mode was requested'
          : undefined;
    if (!problem) return undefined;
    return new SwitchyardError('malformed_response', {
      message: `${deployment.id} returned ${problem}`,
      deployment: deployment.id,
      provider: deployment.provider,
      status: 200,
    });
  }

  #mayFallBack(run: RequestRun, error: SwitchyardError): boolean {
    const allowed = run.policies.fallbackOn;
    return allowed ? allowed.includes(error.kind) : error.fallbackable;
  }

  #adapter(deployment: DeploymentConfig): ProviderAdapter {
    return this.#adapters.get(deployment.id)!;
  }

  #priceOf(deployment: DeploymentConfig) {
    return deployment.price ?? priceFor(deployment.model, this.config.prices);
  }

  /**
   * What an attempt cost: its usage as the provider reported it when that can be billed, else an
   * estimate from the prompt and the output the router counted itself (defect 9 of issue 10).
   */
  #charge(
    run: RequestRun,
    deployment: DeploymentConfig,
    reported: Usage | undefined,
    output: string,
    outputLimit: number | undefined,
  ): Charge {
    const price = this.#priceOf(deployment);
    const valid = usageProblem(reported, { outputLimit, answered: output.length > 0 }) === undefined;
    const usage = valid ? reported! : estimatedUsage(run.trace.estimatedInputTokens, output, outputLimit);
    return { usage, cost: price ? costUsd(usage, price) : 0, estimated: !valid };
  }

  /** An attempt aborted as a hedge loser was still billed for its prompt: count that as its cost. */
  #hedgeLossCharge(run: RequestRun, deployment: DeploymentConfig, error: SwitchyardError): Charge {
    if (error.kind !== 'cancelled' || (error.message !== HEDGE_LOST && error.message !== HEDGE_LOST_SLOW))
      return NO_CHARGE;
    const usage = { inputTokens: run.trace.estimatedInputTokens, outputTokens: 0, cachedInputTokens: 0 };
    const price = this.#priceOf(deployment);
    return { usage, cost: price ? costUsd(usage, price) : 0, estimated: true };
  }

  /** Whatever was thrown, as a SwitchyardError (an abort's reason when the router aborted). */
  #asError(thrown: unknown, deployment?: DeploymentConfig, signal?: AbortSignal): SwitchyardError {
    if (signal?.aborted && isSwitchyardError(signal.reason)) return withDeployment(signal.reason, deployment);
    if (isSwitchyardError(thrown)) return withDeployment(thrown, deployment);
    if (thrown instanceof Error && thrown.name === 'AbortError') {
      return new SwitchyardError('cancelled', { message: 'request cancelled by the caller', cause: thrown });
    }
    return new SwitchyardError('network', {
      message: thrown instanceof Error ? thrown.message : String(thrown),
      cause: thrown,
      ...(deployment ? { deployment: deployment.id, provider: deployment.provider } : {}),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Embeddings: the same chain (route, retries, breakers, fallbacks, budgets, deadlines, trace).

  /**
   * Embeddings for one text or many, through the request's route with the full resilience policy.
   * A deployment whose provider has no embeddings endpoint is failed over like any other failure.
   */
  async embed(request: EmbedRequest, options: CallOptions = {}): Promise<EmbedResponse> {
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    // Routing and the token estimate read a chat request: the inputs stand in as its messages.
    const { input: _input, dimensions: _dimensions, ...routing } = request;
    const run = this.#startRun(
      { ...routing, messages: inputs.map((content) => ({ role: 'user' as const, content })) },
      false,
      options.signal,
    );
    try {
      const { value, deployment, record } = await this.#runChain(run, (d, attempt) =>
        this.#attemptEmbed(run, request, inputs.length, d, attempt),
      );
      return { ...value, ...this.#succeeded(run, deployment, record) };
    } catch (error) {
      const failure = this.#asError(error);
      run.trace.outcome = 'error';
      run.trace.error = failure.toJSON();
      throw failure;
    } finally {
      this.#finishRun(run);
    }
  }

  async #attemptEmbed(
    run: RequestRun,
    request: EmbedRequest,
    count: number,
    deployment: DeploymentConfig,
    params: AttemptParams,
  ): Promise<AttemptOutcome<EmbedResult>> {
    const record = this.#openAttempt(run, deployment, params);
    const deadline = new AttemptDeadline(this.clock, run.policies.timeouts, params.signal ?? run.deadline, {
      streaming: false,
      notAfter: run.deadline.endsAt,
    });
    try {
      const adapter = this.#adapter(deployment);
      if (!adapter.embed) {
        throw new SwitchyardError('bad_request', {
          message: `${deployment.id} (${deployment.provider}) has no embeddings endpoint`,
          deployment: deployment.id,
          provider: deployment.provider,
          fallbackable: true,
        });
      }
      const result = await adapter.embed(request, {
        signal: deadline.signal,
        onResponseHeaders: () => deadline.headersReceived(),
        onBodyChunk: () => deadline.bodyChunkReceived(),
        rewriteParams: params.rewriteParams,
        now: this.#now,
      });
      // Embeddings are billed for their input only: no output text, no output limit.
      const charge = this.#charge(run, deployment, result.usage, '', undefined);
      if (result.embeddings.length !== count) {
        // Billed, but useless: a vector per input or nothing.
        const wrong = new SwitchyardError('malformed_response', {
          message: `${deployment.id} returned ${result.embeddings.length} vectors for ${count} inputs`,
          deployment: deployment.id,
          provider: deployment.provider,
          status: 200,
        });
        return await this.#settleUselessAnswer(run, deployment, record, params, charge, wrong);
      }
      await this.#settleGoodAnswer(run, deployment, record, params, charge);
      return { ok: true, value: { ...result, usage: charge.usage }, record };
    } catch (thrown) {
      const error = this.#asError(thrown, deployment, deadline.signal);
      return this.#failAttempt(run, record, error, params, this.#hedgeLossCharge(run, deployment, error));
    } finally {
      deadline.dispose();
    }
  }
}

interface AttemptParams extends Admission {
  rewriteParams: readonly string[];
  hedge: boolean;
  /** A narrower signal for this attempt (hedges can be aborted one by one). */
  signal?: AbortSignal;
}

/** What an attempt is charged. */
interface Charge {
  usage: Usage;
  cost: number;
  /** Estimated from counted tokens: the provider's usage was missing or could not be billed. */
  estimated: boolean;
}

/** Usage of an attempt that never got an answer (not recorded on the trace). */
const NO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 });
const NO_CHARGE: Charge = Object.freeze({ usage: NO_USAGE, cost: 0, estimated: false });

/** The output an answer's tokens were spent on: its text and its tool calls. */
function answerText(text: string, toolCalls: readonly ToolCall[]): string {
  if (toolCalls.length === 0) return text;
  return text + toolCalls.map((call) => call.name + call.arguments).join('');
}

/**
 * `list` with `item` appended. The first item starts an array of exactly one element: push() onto an
 * empty array reserves room for 17 (152 bytes), which the trace would hold for the life of the request.
 */
function appended<T>(list: T[], item: T): T[] {
  if (list.length === 0) return [item];
  list.push(item);
  return list;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function withDeployment(error: SwitchyardError, deployment: DeploymentConfig | undefined): SwitchyardError {
  if (deployment && !error.deployment) error.deployment = deployment.id;
  return error;
}

/** Route-level policies override the global ones section by section. */
function mergePolicies(global: PoliciesConfig, route: PolicyOverrides | undefined): PoliciesConfig {
  if (!route) return global;
  return {
    retry: { ...global.retry, ...route.retry },
    timeouts: { ...global.timeouts, ...route.timeouts },
    // Kept per deployment and shared by all routes: a route cannot set its own (the schema says so).
    breaker: global.breaker,
    cooldown: global.cooldown,
    hedge: { ...global.hedge, ...route.hedge },
    streaming: { ...global.streaming, ...route.streaming },
    fallbackOn: route.fallbackOn ?? global.fallbackOn,
  };
}
