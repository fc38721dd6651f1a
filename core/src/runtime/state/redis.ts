import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';
import type { Clock } from '../clock.ts';
import { MemoryStore, type StateKind, type StateOp, type StateStore, stopsSequence } from '../state.ts';

/**
 * The StateStore shared by router replicas: Redis, through ioredis (loaded only when a RedisStore is
 * made, so a router without one never pays for it). Every operation runs as one Lua function
 * (redis-ops.lua), a gate's sequence too, so each change is atomic with no WATCH loop to storm
 * under contention; calls made in the same turn share one write (ioredis's auto-pipelining), so a
 * request costs two round trips: its gate and its settle.
 *
 * When Redis cannot be reached the store does not fail the router; it follows a policy per kind of
 * state (`onUnavailable`): budgets fail closed by default (a reservation is refused, a settle is
 * kept and replayed once Redis is back), everything else falls back to this process's own
 * MemoryStore. Every fallback is reported to `onEvent` listeners (the gateway turns them into a
 * metric and a log line). ioredis reconnects by itself.
 */

export type BudgetPolicy = 'closed' | 'open';

export interface RedisStoreOptions {
  /** redis://[:password@]host:port/db (rediss:// for TLS). */
  url: string;
  /** The router's clock: the local fallback store's expiry runs on it. */
  clock: Clock;
  /** Put before every key, so several routers (or tests) share one Redis apart. Default 'switchyard:'. */
  prefix?: string;
  /**
   * Budgets while Redis is unreachable: 'closed' (default) refuses every reservation; 'open' keeps
   * a ledger in this process against the same limits, so each replica may spend up to each limit
   * again during an outage (the fail-open window: at most replicas × limit per period).
   */
  budgets?: BudgetPolicy;
  /**
   * Hold every result until `settle()` is called: a scenario driver on a virtual clock then lets
   * results into the run between turns, whatever the network's timing (deterministic per seed).
   */
  hold?: boolean;
  /** A command unanswered after this long counts as Redis unreachable (default 2,000 ms, real time). */
  commandTimeoutMs?: number;
  /** How long the first connection may take (default 5,000 ms). */
  connectTimeoutMs?: number;
}

/** What the store reports: each fallback, and Redis going away and coming back. */
export type RedisStoreEvent =
  | {
      type: 'fallback';
      kind: StateKind;
      operation: string;
      policy: 'local' | 'closed' | 'open';
      error: string;
    }
  | { type: 'down'; error: string }
  | { type: 'up'; replayed: number };

/** The policy per kind of state when Redis is unreachable (budgets: see RedisStoreOptions.budgets). */
export const FALLBACK_POLICY: Readonly<Record<Exclude<StateKind, 'budget'>, 'local'>> = {
  breaker: 'local',
  cooldown: 'local',
  latency: 'local',
  routing: 'local',
  cache: 'local',
};

/** Redis answers that mean "not now" rather than "wrong": treated like a lost connection. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * The part of an ioredis client the store uses. Declared here, not imported, so the package's public
 * declarations do not pull in ioredis's own (which need @types a consumer may not have).
 */
export interface RedisConnection {
  on(event: 'ready' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ...expiry: [] | ['PX', number]): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  scan(cursor: string | number, ...args: Array<string | number>): Promise<[string, string[]]>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

type OpsClient = RedisConnection & {
  switchyardOps(numKeys: number, ...keysAndPayload: string[]): Promise<string>;
};

/** The URL with any password replaced, for logs and errors: keys go only where configured. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid Redis URL>';
  }
}

/** Connects to Redis and answers a ready store; throws a clear error when Redis cannot be reached. */
export async function connectRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  if (!/^rediss?:\/\//.test(options.url))
    throw new Error(
      `state store URL must start with redis:// or rediss://, got ${redactRedisUrl(options.url)}`,
    );
  const { Redis } = await import('ioredis');
  const clientOptions: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected (the store falls back) rather than queue behind a dead socket.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    // Reconnect for ever, backing off to a second between tries.
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  };
  const client = new Redis(options.url, clientOptions);
  client.defineCommand('switchyardOps', {
    lua: readFileSync(new URL('./redis-ops.lua', import.meta.url), 'utf8'),
  });
  // Errors also come as events; without a listener ioredis prints each one.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(options.url)}: ${(error as Error).message}`);
  }
  return new RedisStore(client as unknown as OpsClient, options);
}

export class RedisStore implements StateStore {
  readonly #client: OpsClient;
  readonly #prefix: string;
  readonly #budgets: BudgetPolicy;
  readonly #local: MemoryStore;
  readonly #listeners = new Set<(event: RedisStoreEvent) => void>();
  /** Settles that could not reach Redis (budgets fail closed): replayed once it is back. */
  readonly #replay: StateOp[] = [];
  #down = false;
  #closing = false;
  #roundTrips = 0;
  // Held results (option `hold`): delivered by settle() in the order the calls were made.
  readonly #hold: boolean;
  readonly #inFlight = new Set<Promise<unknown>>();
  #parked: Array<{ seq: number; deliver: () => void }> = [];
  #seq = 0;
  #batch:
    | Array<{
        ops: readonly StateOp[];
        resolve: (results: unknown[]) => void;
        reject: (error: unknown) => void;
      }>
    | undefined;

  constructor(client: RedisConnection, options: RedisStoreOptions) {
    this.#client = client as OpsClient;
    this.#prefix = options.prefix ?? 'switchyard:';
    this.#budgets = options.budgets ?? 'closed';
    this.#local = new MemoryStore(options.clock);
    this.#hold = options.hold ?? false;
    client.on('ready', () => void this.#recovered());
    client.on('close', () => this.#wentDown('connection closed'));
  }

  /** Subscribes to fallbacks and outages; returns the unsubscribe function. */
  onEvent(listener: (event: RedisStoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Round trips to Redis so far (for the bench and the tests: a request should take two). */
  get calls(): number {
    return this.#roundTrips;
  }

  /** Whether Redis is currently unreachable (the store is on its fallbacks). */
  get degraded(): boolean {
    return this.#down;
  }

  async run<R>(op: StateOp<R>): Promise<R> {
    const [result] = await this.runAll([op]);
    return result as R;
  }

  runAll(ops: readonly StateOp[]): Promise<unknown[]> {
    return this.#deliver(this.#runAll(ops));
  }

  /**
   * Sequences asked for in the same turn go to Redis together, as one script call: one round trip
   * (the settle's breaker, budget and latency operations are three calls made at once).
   */
  #runAll(ops: readonly StateOp[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      if (!this.#batch) {
        this.#batch = [];
        queueMicrotask(() => void this.#flush());
      }
      this.#batch.push({ ops, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#batch!;
    this.#batch = undefined;
    const keys: string[] = [];
    for (const { ops } of batch) for (const op of ops) keys.push(this.#prefix + op.key);
    const payload = JSON.stringify(batch.map(({ ops }) => ops.map((op) => [op.name, op.args])));
    let answers: unknown[][];
    try {
      this.#roundTrips++;
      answers = JSON.parse(await this.#client.switchyardOps(keys.length, ...keys, payload)) as unknown[][];
    } catch (error) {
      if (!unreachable(error)) {
        for (const { reject } of batch) reject(error);
        return;
      }
      const message = (error as Error).message;
      this.#wentDown(message);
      for (const { ops, resolve, reject } of batch) {
        try {
          resolve(this.#fallback(ops, message));
        } catch (failure) {
          reject(failure);
        }
      }
      return;
    }
    for (const [i, { resolve }] of batch.entries()) resolve(asList(answers[i]));
  }

  /** The same sequence without Redis, kind by kind as the policy says. */
  #fallback(ops: readonly StateOp[], error: string): unknown[] {
    const results: unknown[] = [];
    for (const op of ops) {
      let result: unknown;
      if (op.kind === 'budget' && this.#budgets === 'closed') {
        this.#emit({ type: 'fallback', kind: op.kind, operation: op.name, policy: 'closed', error });
        result = this.#failClosed(op);
      } else {
        const policy = op.kind === 'budget' ? 'open' : FALLBACK_POLICY[op.kind];
        this.#emit({ type: 'fallback', kind: op.kind, operation: op.name, policy, error });
        result = this.#local.runNow(op);
      }
      results.push(result);
      if (stopsSequence(result)) break;
    }
    return results;
  }

  /** A budget operation while Redis is away and budgets fail closed. */
  #failClosed(op: StateOp): unknown {
    switch (op.name) {
      case 'budget.reserve':
        return { stop: true, over: [], unavailable: true };
      case 'budget.close':
        // The money is held in Redis; settling it there later keeps the ledger exact.
        this.#replay.push(op);
        return null;
      default:
        throw new Error(`budget state is unavailable (Redis unreachable; budgets fail closed)`);
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.#deliver(
      this.#plain(
        'get',
        async () => {
          this.#roundTrips++;
          const raw = await this.#client.get(this.#prefix + key);
          return raw === null ? undefined : (JSON.parse(raw) as T);
        },
        () => this.#local.get<T>(key),
      ),
    );
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    const json = JSON.stringify(value);
    return this.#deliver(
      this.#plain(
        'set',
        async () => {
          this.#roundTrips++;
          if (ttlMs === undefined) await this.#client.set(this.#prefix + key, json);
          else await this.#client.set(this.#prefix + key, json, 'PX', Math.max(1, Math.ceil(ttlMs)));
        },
        () => this.#local.set(key, value, ttlMs),
      ),
    );
  }

  async delete(key: string): Promise<void> {
    return this.#deliver(
      this.#plain(
        'delete',
        async () => {
          this.#roundTrips++;
          await this.#client.del(this.#prefix + key);
        },
        () => this.#local.delete(key),
      ),
    );
  }

  /** Plain values are cached answers: without Redis, this process's own cache. */
  async #plain<T>(operation: string, remote: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    try {
      return await remote();
    } catch (error) {
      if (!unreachable(error)) throw error;
      const message = (error as Error).message;
      this.#wentDown(message);
      this.#emit({
        type: 'fallback',
        kind: 'cache',
        operation: `value.${operation}`,
        policy: 'local',
        error: message,
      });
      return local();
    }
  }

  async settle(): Promise<number> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    const parked = this.#parked.sort((a, b) => a.seq - b.seq);
    this.#parked = [];
    for (const { deliver } of parked) deliver();
    return parked.length;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.settle();
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  /** Deletes every key under this store's prefix (tests and scenario runs clean up after themselves). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#client.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await this.#client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /** Immediate delivery, or (hold) parked until settle(). */
  #deliver<T>(work: Promise<T>): Promise<T> {
    if (!this.#hold) return work;
    const seq = this.#seq++;
    this.#inFlight.add(work);
    return new Promise<T>((resolve, reject) => {
      work.then(
        (value) => this.#parked.push({ seq, deliver: () => resolve(value) }),
        (error: unknown) => this.#parked.push({ seq, deliver: () => reject(error) }),
      );
      void work.catch(() => {}).finally(() => this.#inFlight.delete(work));
    });
  }

  #wentDown(error: string): void {
    if (this.#down || this.#closing) return;
    this.#down = true;
    this.#emit({ type: 'down', error });
  }

  async #recovered(): Promise<void> {
    const pending = this.#replay.splice(0);
    let replayed = 0;
    for (const op of pending) {
      try {
        this.#roundTrips++;
        await this.#client.switchyardOps(1, this.#prefix + op.key, JSON.stringify([[[op.name, op.args]]]));
        replayed++;
      } catch {
        this.#replay.push(op);
      }
    }
    if (!this.#down && replayed === 0) return;
    this.#down = false;
    this.#emit({ type: 'up', replayed });
  }

  #emit(event: RedisStoreEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken log sink must not change routing decisions.
      }
    }
  }
}

/** Lua's JSON has one empty table: an empty list comes back as {}. */
function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Whether an error means Redis could not be reached or could not answer now (not a wrong call). */
function unreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return TRANSIENT_REPLY.test(error.message);
  return true;
}
