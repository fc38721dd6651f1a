import { randomUUID } from 'node:crypto';
import type { Clock } from '../runtime/clock.ts';
import type { StateStore } from '../runtime/state.ts';

/**
 * A scenario's `state:`: `memory` (the default: the router's own MemoryStore), `redis` (the Redis at
 * SWITCHYARD_REDIS_URL, else a private redis-server the run starts and stops), or `{ redis: URL }`.
 * A run keeps its keys under a prefix of its own and deletes them at the end; the store holds every
 * answer until the driver settles it between turns, so a virtual run stays deterministic per seed.
 */
export type ScenarioState = 'memory' | 'redis' | { redis: string };

export interface OpenedState {
  store: StateStore | undefined;
  close(): Promise<void>;
}

export async function openScenarioState(
  state: ScenarioState | undefined,
  clock: Clock,
  options: { virtual: boolean; redisUrl?: string },
): Promise<OpenedState> {
  if (state === undefined || state === 'memory') return { store: undefined, close: async () => {} };
  const { connectRedisStore } = await import('../runtime/state/redis.ts');
  const named =
    typeof state === 'object' ? state.redis : (options.redisUrl ?? process.env.SWITCHYARD_REDIS_URL);
  let server: { url: string; stop(): Promise<void> } | undefined;
  if (!named) {
    const { startLocalRedis } = await import('../runtime/state/redis-server.ts');
    // A run's state dies with the run: no append-only file to write.
    server = await startLocalRedis({ persistence: 'none' });
  }
  try {
    const store = await connectRedisStore({
      url: named ?? server!.url,
      clock,
      prefix: `switchyard:scenario:${randomUUID()}:`,
      hold: options.virtual,
    });
    return {
      store,
      close: async () => {
        await store.settle();
        await store.clear().catch(() => {});
        await store.close();
        await server?.stop();
      },
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}
