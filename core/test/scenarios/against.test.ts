import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgainstProxy,
  AgainstSetupError,
  defineScenario,
  NOT_OBSERVABLE_PREFIX,
  type RunJournal,
  runAgainst,
  startAgainstProxy,
} from '../../src/scenarios/index.ts';
import { type StandIn, startGatewayStandIn } from './gateway-stand-in.ts';

/**
 * `--against`: the harness grades a gateway it did not write. Two stand-in gateways (plain node:http,
 * no Switchyard code) forward to the chaos proxy; one retries once on a 5xx, the other does not. The
 * same scenario, with a window in which every second upstream call gets a 503, passes for the first
 * and fails for the second.
 */

const router = {
  deployments: [{ id: 'openai/gpt-4.1', provider: 'openai', model: 'gpt-4.1' }],
  routes: [{ name: 'chat', deployments: ['openai/gpt-4.1'] }],
};
const fast = { '*': { ttftMedianMs: 2, ttftSigma: 0, tokensPerSecond: 4000, tokensPerSecondSd: 0 } };

const outage = defineScenario({
  name: 'gateway-503-window',
  description: 'Every second upstream call fails with a 503 for a while; one retry rides it out.',
  seed: 3,
  router,
  simulator: { latency: fast },
  // Real time: long enough that a loaded 2-core machine still sends well over the counts asserted below.
  load: { concurrency: 1, duration: '3s', requests: 400, streamShare: 0.5, maxOutputTokens: 24 },
  faults: [
    {
      id: 'openai-503',
      fault: 'service_unavailable',
      target: { provider: 'openai' },
      everyNth: 2,
      from: '300ms',
      to: '2500ms',
    },
  ],
  hypotheses: [
    { id: 'all-succeed', type: 'success_rate', atLeast: 0.99 },
    { id: 'during', type: 'success_rate', atLeast: 0.99, phase: 'during' },
    { id: 'two-tries', type: 'max_attempts_per_request', atMost: 2 },
    // No stream fails mid-way here (503s come before any text): nothing to catch, so inconclusive.
    { id: 'no-dup', type: 'no_duplicated_text', allowInconclusive: true },
    { id: 'fast', type: 'latency', percentile: 'p95', atMost: '2s' },
  ],
});

let proxy: AgainstProxy;
const gateways: StandIn[] = [];
const gateway = async (options: Omit<Parameters<typeof startGatewayStandIn>[0], 'upstream' | 'models'>) => {
  const g = await startGatewayStandIn({
    ...options,
    upstream: () => proxy.upstreams.openai,
    models: { chat: 'gpt-4.1' },
  });
  gateways.push(g);
  return g;
};

beforeAll(async () => {
  proxy = await startAgainstProxy();
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await proxy?.close();
});

const byId = (journal: RunJournal) => Object.fromEntries(journal.hypotheses.map((h) => [h.id, h]));

describe('runAgainst: grading an external gateway through the chaos proxy', () => {
  it('passes a gateway that retries once on a 5xx (correlating by the forwarded request id)', async () => {
    const retrying = await gateway({ retries: 1, forwardRequestId: true });
    const journal = await runAgainst(outage, { gatewayUrl: retrying.url, proxy });
    expect(journal.mode).toBe('against');
    expect(journal.status).toBe('complete');
    expect(journal.requests.length).toBeGreaterThan(20);
    expect(journal.faultCounters.injected.service_unavailable).toBeGreaterThan(3);
    const h = byId(journal);
    expect(Object.values(h).filter((x) => !x.passed)).toEqual([]);
    expect(journal.verdict).toBe('passed');
    // Every upstream call is tied to its request by the header; retried requests show two attempts.
    expect(journal.against?.unattributed).toBe(0);
    expect(journal.against?.attributed.header).toBe(journal.against?.upstreamCalls);
    const retried = journal.requests.filter((r) => r.attempts.length === 2);
    expect(retried.length).toBeGreaterThan(3);
    for (const r of retried) {
      expect(r.attempts[0]).toMatchObject({
        outcome: 'error',
        status: 503,
        errorKind: 'overloaded',
        next: 'retry',
      });
      expect(r.attempts[1]).toMatchObject({ outcome: 'success', deployment: 'openai/gpt-4.1' });
      expect(r.outcome).toBe('success');
    }
    // Streams: TTFT measured, text counted, nothing duplicated.
    const streams = journal.requests.filter((r) => r.stream);
    expect(streams.length).toBeGreaterThan(5);
    for (const s of streams) {
      expect(s.ttftMs).toBeGreaterThan(0);
      expect(s.streamedChars).toBeGreaterThan(0);
      expect(s.duplicatedText).toBe(false);
    }
    expect(retrying.received).toBe(journal.requests.length + 1); // + the preflight
  }, 30_000);

  it('fails a naive gateway on the same scenario (correlating by the prompt)', async () => {
    const naive = await gateway({ retries: 0 });
    const journal = await runAgainst(outage, { gatewayUrl: naive.url, proxy });
    expect(journal.status).toBe('complete');
    const h = byId(journal);
    expect(journal.verdict).toBe('failed');
    expect(h['all-succeed']?.passed).toBe(false);
    expect(h.during?.passed).toBe(false);
    expect(h.during?.actual).toMatch(/%/);
    // The failures are the 503s, seen from outside and classified by the router's normaliser.
    const failed = journal.requests.filter((r) => r.outcome === 'error');
    expect(failed.length).toBeGreaterThan(3);
    expect(new Set(failed.map((r) => r.errorKind))).toEqual(new Set(['overloaded']));
    for (const r of failed) expect(r.attempts).toMatchObject([{ status: 503, next: 'give-up' }]);
    expect(h['two-tries']?.passed).toBe(true);
    // No header forwarded: every call was tied to its request by the prompt it carried.
    expect(journal.against?.attributed.header).toBe(0);
    expect(journal.against?.attributed.prompt).toBe(journal.against?.upstreamCalls);
    expect(journal.against?.unattributed).toBe(0);
  }, 30_000);

  it('checks Retry-After from the provider-side log, and marks what it cannot see as not evaluable', async () => {
    const impatient = await gateway({ retries: 1, retryStatuses: [429], forwardRequestId: true });
    const scenario = defineScenario({
      name: 'gateway-429',
      description: 'A 429 with Retry-After: 1s on every second call; the gateway retries at once.',
      seed: 4,
      router,
      simulator: { latency: fast },
      load: { concurrency: 2, requests: 12, maxOutputTokens: 16 },
      faults: [{ fault: 'rate_limit', params: { retryAfterMs: 1000 }, everyNth: 2 }],
      hypotheses: [
        { id: 'retry-after', type: 'retry_after_respected', toleranceMs: 50 },
        { id: 'breaker', type: 'breaker_opens_within', failures: 3 },
        { id: 'budget', type: 'budget_never_exceeded' },
      ],
    });
    const journal = await runAgainst(scenario, { gatewayUrl: impatient.url, proxy });
    const h = byId(journal);
    expect(h['retry-after']).toMatchObject({ passed: false });
    expect(h['retry-after']?.evaluable).toBeUndefined();
    expect(h['retry-after']?.actual).toMatch(/retried early/);
    for (const id of ['breaker', 'budget']) {
      expect(h[id]).toMatchObject({ passed: false, evaluable: false });
      expect(h[id]?.actual.startsWith(NOT_OBSERVABLE_PREFIX)).toBe(true);
    }
    expect(journal.verdict).toBe('failed');
  }, 30_000);

  it('tells a request rewritten after a refused parameter from one retried as it was', async () => {
    const refused = defineScenario({
      name: 'gateway-refused-parameter',
      description: 'The provider refuses max_tokens: a gateway may drop it and ask again, never resend it.',
      seed: 7,
      router,
      simulator: { latency: fast },
      load: { concurrency: 1, duration: '1s', requests: 20, streamShare: 0.5, maxOutputTokens: 24 },
      faults: [
        {
          id: 'max-tokens-refused',
          fault: 'unsupported_parameter',
          params: { param: 'max_tokens' },
          target: { provider: 'openai', match: { body: { max_tokens: 24 } } },
        },
      ],
      hypotheses: [
        { id: 'not-resent', type: 'non_retryable_not_retried', kinds: ['unsupported_parameter'] },
        { id: 'succeed', type: 'success_rate', atLeast: 1 },
      ],
    });
    const rewriting = await gateway({ retries: 1, forwardRequestId: true, rewriteRefusedParameter: true });
    const rewritten = await runAgainst(refused, { gatewayUrl: rewriting.url, proxy });
    expect(byId(rewritten).succeed).toMatchObject({ passed: true });
    expect(byId(rewritten)['not-resent']).toMatchObject({ passed: true });
    const first = rewritten.requests[0]?.attempts[0];
    expect(first).toMatchObject({ errorKind: 'unsupported_parameter', next: 'rewrite-and-retry' });

    const resending = await gateway({ retries: 1, forwardRequestId: true, retryStatuses: [400] });
    const resent = await runAgainst(refused, { gatewayUrl: resending.url, proxy });
    expect(byId(resent)['not-resent']).toMatchObject({ passed: false });
    expect(resent.requests[0]?.attempts[0]).toMatchObject({ next: 'retry' });
  }, 30_000);

  it('refuses to grade a gateway that is unreachable or not wired to the proxy', async () => {
    const elsewhere = await startGatewayStandIn({ retries: 0, upstream: () => 'http://127.0.0.1:9/v1' });
    gateways.push(elsewhere);
    await expect(runAgainst(outage, { gatewayUrl: elsewhere.url, proxy })).rejects.toThrow(
      /sent nothing to the chaos proxy.*point its upstreams at http:\/\/127\.0\.0\.1:\d+/,
    );
    const closed = await startGatewayStandIn({ retries: 0, upstream: () => proxy.upstreams.openai });
    await closed.close();
    await expect(runAgainst(outage, { gatewayUrl: closed.url, proxy })).rejects.toBeInstanceOf(
      AgainstSetupError,
    );
  }, 30_000);
});
