import { Writable } from 'node:stream';
import type { Tracer } from '@opentelemetry/api';
import {
  chaosFetch,
  createChaos,
  createSimulator,
  type FaultRule,
  type LatencyProfile,
} from '../../src/faults/index.ts';
import { type Gateway, parseGatewayConfig, startGateway } from '../../src/gateway/index.ts';
import { RealClock } from '../../src/runtime/clock.ts';

/**
 * A gateway on a real loopback socket in front of the built-in simulator (with chaos rules when a
 * test wants faults). Only the providers are simulated: the gateway, its router and the official
 * SDKs inside it are the real ones. Upstream requests are recorded as the gateway sent them.
 */
export const SIM_KEY = 'sk-test-not-a-real-key';

/** Fast but not instant: streams arrive in several chunks, each on its own turn. */
export const QUICK: LatencyProfile = {
  ttftMedianMs: 5,
  ttftSigma: 0,
  tokensPerSecond: 3_000,
  tokensPerSecondSd: 0,
};
/** A stream that takes seconds: for disconnects and draining. */
export const SLOW: LatencyProfile = {
  ttftMedianMs: 20,
  ttftSigma: 0,
  tokensPerSecond: 20,
  tokensPerSecondSd: 0,
};

export const ROUTER = {
  deployments: [
    { id: 'primary', provider: 'openai', model: 'gpt-4.1', apiKey: { env: 'SIM_KEY' } },
    { id: 'backup', provider: 'anthropic', model: 'claude-sonnet-4-6', apiKey: { env: 'SIM_KEY' } },
  ],
  routes: [{ name: 'chat', deployments: ['primary'], fallbacks: ['backup'] }],
  policies: {
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, retryAfterCapMs: 5_000 },
    breaker: { enabled: false },
    hedge: { enabled: false },
  },
};

export interface TestGateway {
  gateway: Gateway;
  url: string;
  /** Parsed JSON log lines, in order. */
  logs: Array<Record<string, unknown>>;
  /** Every request the simulated providers received. */
  upstream: Request[];
  close(): Promise<void>;
}

export async function startTestGateway(
  options: {
    config?: Record<string, unknown>;
    rules?: FaultRule[];
    latency?: LatencyProfile;
    env?: Record<string, string>;
    tracer?: Tracer;
    host?: string;
  } = {},
): Promise<TestGateway> {
  const clock = new RealClock();
  const simulator = createSimulator({ clock, seed: 7, latency: { '*': options.latency ?? QUICK } });
  const upstream: Request[] = [];
  const chaos = createChaos({
    clock,
    seed: 7,
    rules: options.rules ?? [],
    upstream: (request) => simulator.handle(request),
  });
  const deliver = chaosFetch(chaos);
  const env = { SIM_KEY, ...options.env };
  const config = parseGatewayConfig(JSON.stringify(options.config ?? ROUTER), 'gateway.test.json', { env });
  const logs: Array<Record<string, unknown>> = [];
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await startGateway({
    config,
    clock,
    fetch: (input, init) => {
      const request = new Request(input, init);
      upstream.push(request);
      return deliver(request);
    },
    env,
    log,
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  return { gateway, url: gateway.url, logs, upstream, close: () => gateway.close(0) };
}

/** Waits until `check` holds (log lines are written a turn after the answer). */
export async function eventually(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
