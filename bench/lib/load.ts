import { createRequire } from 'node:module';
import { BENCH_KEY } from './sim.ts';

/** The slice of autocannon's result these benchmarks read (autocannon ships no types). */
export interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout?: number;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (options: AutocannonOptions) => Promise<LoadResult>;

export const CHAT_BODY = JSON.stringify({
  model: 'gpt-4.1',
  messages: [{ role: 'user', content: 'Summarise TCP in one line.' }],
  max_tokens: 32,
});

/** Drives one target with autocannon (programmatic API); bounded by duration, loopback only. */
export function drive(
  url: string,
  headers: Record<string, string>,
  options: { connections: number; seconds: number; body?: string },
) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing a non-loopback target: ${url}`);
  return autocannon({
    url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${BENCH_KEY}`,
      ...headers,
    },
    body: options.body ?? CHAT_BODY,
  });
}
