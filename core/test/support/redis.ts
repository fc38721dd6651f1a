import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { connectRedisStore, type RedisStore, type RedisStoreOptions } from '../../src/runtime/state/redis.ts';
import { type LocalRedis, startLocalRedis } from '../../src/runtime/state/redis-server.ts';

/**
 * Tests against a real redis-server (Debian's `redis-server`; .ci/run installs it). Without the
 * binary these tests are skipped, unless SWITCHYARD_REQUIRE_REDIS=1 (as in CI), where that fails.
 */
function redisBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const REDIS_BINARY = redisBinary();
export const REDIS_REQUIRED = process.env.SWITCHYARD_REQUIRE_REDIS === '1';
/** Run the Redis tests: the binary is there, or CI requires it (and the start then fails loudly). */
export const WITH_REDIS = REDIS_BINARY !== undefined || REDIS_REQUIRED;

export { type LocalRedis, startLocalRedis };

let prefixes = 0;
/** A store on its own key prefix, so tests sharing one server never see each other's state. */
export function storeOn(server: LocalRedis, options: Omit<RedisStoreOptions, 'url'>): Promise<RedisStore> {
  return connectRedisStore({ prefix: newPrefix(), ...options, url: server.url });
}

export function newPrefix(): string {
  return `test:${process.pid}:${++prefixes}:`;
}

/**
 * A redis-server for the calling test file (started before its tests, stopped after them, with every
 * store opened through `store` closed first). `server` is undefined where Redis is not available.
 */
export function redisForTests(persistence: 'none' | 'everysec' | 'always' = 'none') {
  let server: LocalRedis | undefined;
  const opened: RedisStore[] = [];
  beforeAll(async () => {
    if (WITH_REDIS) server = await startLocalRedis({ persistence });
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    await server?.stop();
  });
  return {
    get server(): LocalRedis | undefined {
      return server;
    },
    /** A store on its own prefix (or the one given), closed after the file's tests. */
    async store(options: Omit<RedisStoreOptions, 'url'>): Promise<RedisStore> {
      const store = await storeOn(server!, options);
      opened.push(store);
      return store;
    },
  };
}
