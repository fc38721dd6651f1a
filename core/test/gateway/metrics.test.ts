import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackPeer } from '../../src/gateway/index.ts';
import { eventually, post, ROUTER, SLOW, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * /metrics (prom-client): requests and attempts by route × deployment × outcome × error kind,
 * latency and TTFT histograms, breaker states, budget spend and remaining, cost, cache hits and
 * requests in flight, after streamed and non-streamed traffic.
 */
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The value of one series, by metric name and exact labels (in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
};
const ask = [{ role: 'user' as const, content: 'Say hello.' }];

describe('/metrics', () => {
  it('counts requests and attempts by route, deployment, outcome and error kind, streamed and not', async () => {
    t = await startTestGateway({
      config: {
        ...ROUTER,
        gateway: { keys: [{ name: 'k', key: { env: 'GW_KEY' }, tenant: 'acme' }] },
        budgets: [{ tenant: 'acme', period: 'day', limitUsd: 5 }],
      },
      env: { GW_KEY: 'sk-gw-key-1' },
      // The first two calls to the OpenAI deployment fail: one request falls back to the backup.
      rules: [{ fault: 'server_error', target: { provider: 'openai' }, injection: { firstN: 2 } }],
    });
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'sk-gw-key-1', maxRetries: 0 });
    await openai.chat.completions.create({ model: 'chat', messages: ask }); // primary ✗ ✗ → backup ✓
    await openai.chat.completions.create({ model: 'chat', messages: ask }); // primary ✓
    for await (const _ of await openai.chat.completions.create({
      model: 'chat',
      messages: ask,
      stream: true,
    }));
    await post(
      `${t.url}/v1/chat/completions`,
      { model: 'chat', messages: ask },
      { authorization: 'Bearer wrong' },
    );

    const text = await scrape(t.url);
    const requests = (deployment: string, outcome: string, kind = 'none') =>
      sample(text, 'switchyard_gateway_requests_total', {
        endpoint: '/v1/chat/completions',
        route: 'chat',
        deployment,
        outcome,
        error_kind: kind,
      });
    expect(requests('backup', 'success')).toBe(1);
    expect(requests('primary', 'success')).toBe(2);
    expect(
      sample(text, 'switchyard_gateway_requests_total', {
        outcome: 'rejected',
        error_kind: 'invalid_api_key',
      }),
    ).toBe(1);
    expect(
      sample(text, 'switchyard_gateway_attempts_total', {
        route: 'chat',
        deployment: 'primary',
        outcome: 'error',
        error_kind: 'server_error',
      }),
    ).toBe(2);
    expect(
      sample(text, 'switchyard_gateway_request_duration_seconds_count', {
        route: 'chat',
        deployment: 'primary',
        outcome: 'success',
      }),
    ).toBe(2);
    expect(
      sample(text, 'switchyard_gateway_time_to_first_token_seconds_count', {
        deployment: 'primary',
        stream: 'true',
      }),
    ).toBe(1);
    expect(
      sample(text, 'switchyard_gateway_cost_usd_total', { deployment: 'primary', tenant: 'acme' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'switchyard_gateway_breaker_state', { deployment: 'primary' })).toBe(0);
    const spent = sample(text, 'switchyard_gateway_budget_spent_usd', { tenant: 'acme', period: 'day' })!;
    expect(spent).toBeGreaterThan(0);
    expect(
      sample(text, 'switchyard_gateway_budget_remaining_usd', { tenant: 'acme', period: 'day' }),
    ).toBeCloseTo(5 - spent, 9);
    expect(sample(text, 'switchyard_gateway_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('shows breaker states, cache hits and requests in flight', async () => {
    t = await startTestGateway({
      config: {
        ...ROUTER,
        policies: { ...ROUTER.policies, breaker: { enabled: true, consecutiveFailures: 2, openMs: 60_000 } },
        cache: { enabled: true },
      },
      rules: [{ fault: 'server_error', target: { model: 'claude-*' } }],
      latency: SLOW,
    });
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await openai.chat.completions.create({ model: 'backup', messages: ask }).catch(() => {}); // ✗ ✗: opens
    await openai.chat.completions.create({ model: 'chat', messages: ask, max_tokens: 5 });
    await openai.chat.completions.create({ model: 'chat', messages: ask, max_tokens: 5 }); // a hit
    const streaming = post(`${t.url}/v1/chat/completions`, {
      model: 'chat',
      messages: ask,
      stream: true,
      max_tokens: 30,
    });
    await eventually(() => t!.gateway.inFlight === 1);
    const during = await scrape(t.url);
    expect(
      sample(during, 'switchyard_gateway_in_flight_requests', { endpoint: '/v1/chat/completions' }),
    ).toBe(1);
    expect(sample(during, 'switchyard_gateway_breaker_state', { deployment: 'backup' })).toBe(2);
    expect(sample(during, 'switchyard_gateway_cache_requests_total', { route: 'chat', result: 'hit' })).toBe(
      1,
    );
    expect(sample(during, 'switchyard_gateway_cache_requests_total', { route: 'chat', result: 'miss' })).toBe(
      1,
    );
    await (await streaming).text();
    const after = await scrape(t.url);
    expect(sample(after, 'switchyard_gateway_in_flight_requests', { endpoint: '/v1/chat/completions' })).toBe(
      0,
    );
  });

  it('with an admin token, /metrics wants it; without one it answers loopback peers', async () => {
    t = await startTestGateway({
      config: { ...ROUTER, gateway: { adminToken: { env: 'ADMIN' } } },
      env: { ADMIN: 'admin-token-123' },
    });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const text = await scrape(t.url, { authorization: 'Bearer admin-token-123' });
    expect(text).toContain('switchyard_gateway_requests_total');
  });

  it('without one, only connections from this machine count as loopback peers', () => {
    for (const peer of ['127.0.0.1', '127.8.0.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackPeer(peer)).toBe(true);
    for (const peer of ['10.0.0.5', '::ffff:10.0.0.5', '192.168.1.127', 'fe80::1', undefined])
      expect(isLoopbackPeer(peer)).toBe(false);
  });
});
