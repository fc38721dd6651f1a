/**
 * The in-process target: the scenario's Router, its providers delivered through `chaosFetch` (the
 * simulator behind the scenario's faults, or the real providers with the faults injected on the
 * way). The real SDKs build real requests and parse real responses, with no socket in between. The
 * router sees everything: its decision traces become the journal's records, its breaker transitions
 * are recorded, and every hypothesis is observable.
 */
import { createHash } from 'node:crypto';
import type { Chaos } from '../../faults/chaos/engine.ts';
import { deriveSeed, mulberry32 } from '../../faults/chaos/prng.ts';
import { chaosFetch } from '../../faults/delivery/fetch.ts';
import { SIMULATED_API_KEY } from '../../faults/simulator/simulator.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { RouterConfig } from '../../runtime/config/schema.ts';
import type { ErrorKind, TimeoutPhase } from '../../runtime/errors.ts';
import { parseRetryAfterMs } from '../../runtime/providers/retry-after.ts';
import { Router } from '../../runtime/router.ts';
import type { StateStore } from '../../runtime/state.ts';
import type { AttemptRecord, DecisionTrace } from '../../runtime/trace/trace.ts';
import { type Provider, type StreamEvent, wireProviderOf } from '../../runtime/types.ts';
import { faultCountersOf, scenarioChaos, scenarioSimulator } from '../harness/faults.ts';
import type { Target } from '../harness/target.ts';
import type { AttemptSummary, RequestRecord, RunJournal } from '../journal.ts';
import type { Scenario } from '../schema.ts';

/** The key every simulated deployment is given (the simulator's own fake). */
const KEY_ENV = 'SWITCHYARD_SCENARIO_API_KEY';

export interface RouterTargetOptions {
  /**
   * Live providers instead of the simulator: the router calls each deployment's own base URL with
   * keys from `env` (as the config names them), and the scenario's faults are injected on the way.
   */
  live?: { env: Record<string, string | undefined>; fetch?: typeof fetch } | undefined;
  /** Virtual time (`clock` is the harness's DriverClock), or real time. */
  mode: 'virtual' | 'real-time';
  /** The run's start on the clock: records are made as each request ends, relative to it. */
  t0: number;
  /** The router's state store (a scenario's `state: redis`, router-state.ts); default its own MemoryStore. */
  store?: StateStore | undefined;
}

/** SHA-256 of a text, hex, first 16 characters: the trace contract's form of delivered text. */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function routerTarget(
  scenario: Scenario,
  seed: number,
  clock: Clock,
  options: RouterTargetOptions,
): Target {
  const { live } = options;
  const liveFetch = live?.fetch ?? ((request: Request) => globalThis.fetch(request));
  const simulator = live ? undefined : scenarioSimulator(scenario, seed, clock);
  const waitsSent = new WaitsSent(scenario.router);
  const chaos: Chaos = scenarioChaos(
    scenario,
    seed,
    clock,
    (request) => (simulator ? simulator.handle(request) : liveFetch(request)),
    { onResponse: (event, response) => waitsSent.record(event.provider, event.model, response, clock.now()) },
  );
  // The router's request id is the driver's: complete() and stream() mint it synchronously at their start.
  let nextId = '';
  const { store } = options;
  const router = new Router({
    ...(store ? { store } : {}),
    config: live ? scenario.router : withScenarioKeys(scenario.router),
    clock,
    random: mulberry32(deriveSeed(seed, 'router')),
    fetch: chaosFetch(chaos),
    env: live ? live.env : { [KEY_ENV]: SIMULATED_API_KEY },
    newId: () => nextId,
  });

  const { t0 } = options;
  // Each request's record is made from its trace when the router hands it over (the trace as it was
  // then, without copying it); a stream's received text is added when the caller's loop ends.
  const records = new Map<string, RequestRecord>();
  const startedAt = new Map<string, { at: number; stream: boolean }>();
  const breakerTransitions: Array<Omit<RunJournal['breakerTransitions'][number], 'atMs'> & { at: number }> =
    [];
  const unsubscribeTrace = router.onTrace((trace) => {
    records.set(trace.id, toRecord(trace, t0, { retryAfterSent: (attempt) => waitsSent.of(attempt) }));
  });
  const unsubscribeBreakers = router.breakers.onTransition((event) => {
    breakerTransitions.push({ deployment: event.deployment, from: event.from, to: event.to, at: event.at });
  });

  /** Reads a stream the way a caller would, keeping the text it received. */
  const consume = async (id: string, events: AsyncIterable<StreamEvent>): Promise<'success' | 'error'> => {
    const iterator = events[Symbol.asyncIterator]();
    // What the caller received, counted here from the events it got: the router's own account of
    // what it delivered (trace deliveredChars/Hash) is checked against this, not rebuilt from it.
    let text = '';
    let outcome: 'success' | 'error' = 'success';
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        if (next.value.type === 'text-delta') text += next.value.text;
        else if (next.value.type === 'error') outcome = 'error';
      }
    } catch {
      // stream() surfaces failures as events; a throw here is the caller-side abort.
      outcome = 'error';
    }
    const record = records.get(id);
    if (record) {
      record.streamedChars = text.length;
      record.streamedHash = textHash(text);
    }
    return outcome;
  };

  return {
    mode: options.mode,

    // A shared store holds its answers on the virtual clock until they are let in between turns.
    ...(store?.settle ? { settle: store.settle.bind(store) } : {}),

    send(id, generated, signal) {
      nextId = id;
      startedAt.set(id, { at: clock.now(), stream: generated.stream });
      if (!generated.stream)
        return router.complete(generated.request, signal ? { signal } : {}).then(
          () => 'success' as const,
          () => 'error' as const,
        );
      return consume(id, router.stream(generated.request, signal ? { signal } : {}));
    },

    records({ endAt, hung }) {
      const requests = [...records.values()];
      // A request that never ended has no trace: it is recorded hung, with nothing known of its attempts.
      for (const id of hung) {
        const start = startedAt.get(id);
        if (records.has(id) || !start) continue;
        requests.push(hungRecord(id, start.at - t0, endAt - t0, start.stream));
      }
      requests.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
      return {
        requests,
        breakerTransitions: breakerTransitions.map(({ at, ...t }) => ({ ...t, atMs: at - t0 })),
        faultCounters: faultCountersOf(chaos),
        unseen: {},
      };
    },

    async close() {
      unsubscribeTrace();
      unsubscribeBreakers();
    },
  };
}

/** Every OpenAI/Anthropic deployment gets the fake scenario key (configs may name real env vars). */
function withScenarioKeys(config: RouterConfig): RouterConfig {
  return {
    ...config,
    deployments: config.deployments.map((d) =>
      d.provider === 'ollama' ? d : { ...d, apiKey: { env: KEY_ENV } },
    ),
  };
}

/**
 * The Retry-After waits the chaos layer sent, read from each injected response on the run's clock:
 * the harness's own record of what a throttled attempt was asked to wait, tied to the attempt by the
 * provider request id its error echoes (else by deployment, status and time).
 */
class WaitsSent {
  readonly #byRequestId = new Map<string, number>();
  readonly #anonymous: Array<{
    at: number;
    provider: Provider;
    model: string | undefined;
    status: number;
    ms: number;
  }> = [];
  readonly #wire = new Map<string, { provider: Provider; model: string }>();

  constructor(config: RouterConfig) {
    for (const d of config.deployments)
      this.#wire.set(d.id, { provider: wireProviderOf(d.provider), model: d.model });
  }

  record(provider: Provider, model: string | undefined, response: Response, now: number): void {
    const ms = parseRetryAfterMs(response.headers, now);
    if (ms === undefined) return;
    const id = response.headers.get('x-request-id') ?? response.headers.get('request-id');
    if (id) this.#byRequestId.set(id, ms);
    else this.#anonymous.push({ at: now, provider, model, status: response.status, ms });
  }

  of(attempt: AttemptRecord): number | undefined {
    if (attempt.outcome !== 'error' || attempt.status === undefined) return undefined;
    const id = attempt.error?.requestId;
    if (typeof id === 'string' && this.#byRequestId.has(id)) return this.#byRequestId.get(id);
    const wire = this.#wire.get(attempt.deployment);
    const matching = this.#anonymous.filter(
      (w) =>
        w.provider === wire?.provider &&
        w.model === wire?.model &&
        w.status === attempt.status &&
        w.at >= attempt.startedAt &&
        w.at <= attempt.endedAt,
    );
    // Only when unambiguous: every candidate asked the same wait.
    const waits = new Set(matching.map((w) => w.ms));
    return waits.size === 1 ? [...waits][0] : undefined;
  }
}

/** A request sent that never ended: a failure with nothing known of its attempts. */
function hungRecord(id: string, startMs: number, endMs: number, stream: boolean): RequestRecord {
  return {
    id,
    startMs,
    endMs,
    latencyMs: endMs - startMs,
    stream,
    tags: [],
    route: '',
    outcome: 'error',
    fellBack: false,
    cache: 'off',
    costUsd: 0,
    wastedUsd: 0,
    attempts: [],
    skipped: [],
    hung: true,
  };
}

/** What the harness itself saw of a request, beside its trace. */
export interface RecordEvidence {
  /** The Retry-After wait the provider's answer to this attempt asked for, as the harness sent it. */
  retryAfterSent?: (attempt: AttemptRecord) => number | undefined;
}

/** A request's journal record from its decision trace (times relative to the run's start). */
export function toRecord(trace: DecisionTrace, t0: number, evidence: RecordEvidence = {}): RequestRecord {
  const startMs = trace.startedAt - t0;
  const endMs = (trace.endedAt ?? trace.startedAt) - t0;
  const attempts: AttemptSummary[] = trace.attempts.map((a) => {
    const summary: AttemptSummary = {
      n: a.n,
      deployment: a.deployment,
      startMs: a.startedAt - t0,
      endMs: a.endedAt - t0,
      outcome: a.outcome,
      costUsd: a.costUsd,
    };
    if (a.errorKind) summary.errorKind = a.errorKind;
    if (a.status !== undefined) summary.status = a.status;
    if (a.delayBeforeNextMs !== undefined) summary.delayBeforeNextMs = a.delayBeforeNextMs;
    if (a.delayReason) summary.delayReason = a.delayReason;
    if (a.next) summary.next = a.next;
    if (a.fallbackReason) summary.fallbackReason = a.fallbackReason;
    if (a.hedge) summary.hedge = true;
    if (a.probe) summary.probe = true;
    if (a.slow) summary.slow = true;
    if (a.costEstimated) summary.costEstimated = true;
    if (a.timeoutPhase) summary.timeoutPhase = a.timeoutPhase;
    if (a.retryAfterMs !== undefined) summary.retryAfterMs = a.retryAfterMs;
    const sent = evidence.retryAfterSent?.(a);
    if (sent !== undefined) summary.retryAfterSentMs = sent;
    if (a.deliveredChars !== undefined) summary.deliveredChars = a.deliveredChars;
    if (a.deliveredHash !== undefined) summary.deliveredHash = a.deliveredHash;
    return summary;
  });
  const success = trace.attempts.find(
    (a) => a.outcome === 'success' && a.deployment === trace.finalDeployment,
  );
  const record: RequestRecord = {
    id: trace.id,
    startMs,
    endMs,
    latencyMs: endMs - startMs,
    stream: trace.stream,
    tags: [...trace.tags],
    route: trace.route,
    outcome: trace.outcome ?? 'error',
    fellBack:
      trace.outcome === 'success' &&
      trace.finalDeployment !== undefined &&
      trace.attempts.length > 0 &&
      trace.attempts[0]!.deployment !== trace.finalDeployment,
    cache: trace.cache,
    costUsd: trace.costUsd,
    wastedUsd: trace.wastedUsd,
    attempts,
    skipped: trace.candidates
      .filter((c) => c.skipped)
      .map((c) => ({ deployment: c.deployment, reason: c.skipped! })),
  };
  if (success?.ttftMs !== undefined) record.ttftMs = success.startedAt - trace.startedAt + success.ttftMs;
  if (trace.tenant) record.tenant = trace.tenant;
  const errorKind = trace.error?.kind;
  if (trace.outcome !== 'success' && typeof errorKind === 'string') record.errorKind = errorKind as ErrorKind;
  const phase = trace.error?.timeoutPhase;
  if (trace.outcome !== 'success' && typeof phase === 'string') record.timeoutPhase = phase as TimeoutPhase;
  if (trace.finalDeployment) record.finalDeployment = trace.finalDeployment;
  if (trace.deliveredChars !== undefined) record.deliveredChars = trace.deliveredChars;
  if (trace.deliveredHash !== undefined) record.deliveredHash = trace.deliveredHash;
  if (trace.budgetEvents?.length)
    record.budgetEvents = trace.budgetEvents.map(({ at, ...event }) => ({ atMs: at - t0, ...event }));
  return record;
}
