import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defineScenario,
  loadScenario,
  type RunJournal,
  type RunProgress,
  runScenario,
} from '../../src/scenarios/index.ts';

const here = import.meta.dirname;

/** A journal minus what legitimately differs between two runs of the same seed. */
const comparable = (journal: RunJournal) => ({ ...journal, runId: undefined, wall: undefined });

const twoProviders = {
  deployments: [
    { id: 'openai-main', provider: 'openai', model: 'gpt-4o-mini' },
    { id: 'anthropic-backup', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
    { id: 'local', provider: 'ollama', model: 'llama3.2' },
  ],
  routes: [
    {
      name: 'chat',
      strategy: 'weighted',
      deployments: ['openai-main', 'anthropic-backup'],
      fallbacks: ['local'],
    },
  ],
  policies: {
    breaker: { consecutiveFailures: 3, openMs: 5_000 },
    hedge: { enabled: true, delay: 800 },
  },
};

/** Busy on purpose: weighted routing, hedging, breakers, streams cut mid-way, slow answers. */
const busy = defineScenario({
  name: 'busy',
  description: 'Everything that draws randomness or races on the clock, at once.',
  seed: 11,
  router: twoProviders,
  load: {
    requests: 150,
    concurrency: 6,
    streamShare: 0.4,
    tenants: { acme: 1, globex: 2 },
    tags: [
      { tags: ['interactive'], weight: 1 },
      { tags: [], weight: 1 },
    ],
    maxOutputTokens: [16, 160],
  },
  faults: [
    { fault: 'server_error', target: { provider: 'openai' }, rate: 0.6, from: '5s', to: '40s' },
    { fault: 'stream_cut', rate: 0.1 },
    { fault: 'latency', params: { delayMs: 3000 }, target: { provider: 'anthropic' }, rate: 0.2 },
  ],
  hypotheses: [
    { type: 'success_rate', atLeast: 0.9 },
    { type: 'breaker_opens_within', failures: 3 },
    { type: 'no_duplicated_text' },
  ],
});

describe('runScenario (virtual time)', () => {
  it('the same seed gives the same journal, apart from run id and wall timestamps', async () => {
    const first = await runScenario(busy);
    const second = await runScenario(busy);
    expect(first.status).toBe('complete');
    expect(first.requests).toHaveLength(150);
    // The run exercised what could make it nondeterministic.
    expect(first.requests.some((r) => r.stream)).toBe(true);
    expect(first.requests.some((r) => r.attempts.some((a) => a.hedge))).toBe(true);
    expect(first.breakerTransitions.length).toBeGreaterThan(0);
    expect(first.faultCounters.injected.stream_cut).toBeGreaterThan(0);
    expect(first.runId).not.toBe(second.runId);
    expect(comparable(second)).toEqual(comparable(first));
  });

  it('does not depend on how many event-loop turns the driver waits', async () => {
    const quick = await runScenario(busy, { quietTurns: 1 });
    const patient = await runScenario(busy, { quietTurns: 12 });
    expect(comparable(patient)).toEqual(comparable(quick));
  });

  it('another seed gives another run', async () => {
    const a = await runScenario(busy);
    const b = await runScenario(busy, { seed: 12 });
    expect(b.scenario.seed).toBe(12);
    expect(comparable(b)).not.toEqual(comparable(a));
  });

  it('runs ten minutes of simulated traffic with faults (wall time printed, not asserted)', async () => {
    const scenario = defineScenario({
      name: 'ten-minutes',
      description: 'Ten minutes at one request per second, with a 429 storm and cut streams.',
      seed: 7,
      router: {
        deployments: twoProviders.deployments.slice(0, 2),
        routes: [{ name: 'chat', deployments: ['openai-main'], fallbacks: ['anthropic-backup'] }],
      },
      load: { duration: '10m', rate: 1, arrivals: 'uniform', streamShare: 0.3, maxOutputTokens: [16, 200] },
      faults: [
        { id: 'storm', fault: 'rate_limit', target: { provider: 'openai' }, rate: 0.5, from: '2m', to: '5m' },
        { id: 'cuts', fault: 'stream_cut', target: { provider: 'openai' }, rate: 0.2, from: '6m', to: '7m' },
      ],
      hypotheses: [
        { type: 'success_rate', atLeast: 0.98 },
        { type: 'retry_after_respected' },
        { type: 'no_duplicated_text' },
        { type: 'recovery_time', atMost: '30s' },
      ],
    });
    const started = performance.now();
    const journal = await runScenario(scenario);
    const wallMs = performance.now() - started;
    console.log(
      `10-minute scenario: ${journal.requests.length} requests, ${Math.round(journal.durationMs / 1000)} s simulated, ${Math.round(wallMs)} ms wall`,
    );
    expect(journal.status).toBe('complete');
    expect(journal.requests).toHaveLength(600);
    expect(journal.durationMs).toBeGreaterThanOrEqual(599_000);
    expect(journal.faultWindows).toEqual([
      { ruleId: 'storm', fault: 'rate_limit', target: 'openai/*', fromMs: 120_000, toMs: 300_000 },
      { ruleId: 'cuts', fault: 'stream_cut', target: 'openai/*', fromMs: 360_000, toMs: 420_000 },
    ]);
    // Faults fired only inside their windows.
    const retried = journal.requests.filter((r) => r.attempts.some((a) => a.errorKind === 'rate_limited'));
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((r) => r.startMs >= 120_000 && r.startMs < 300_000)).toBe(true);
    expect(journal.hypotheses.map((h) => [h.kind, h.verdict])).toEqual([
      ['success_rate', 'passed'],
      ['retry_after_respected', 'passed'],
      // The router's account of what each cut stream delivered agrees with what the caller received.
      ['no_duplicated_text', 'passed'],
      ['recovery_time', 'passed'],
    ]);
    expect(journal.verdict).toBe('passed');
  });

  it('a rate-limit storm: retries wait for Retry-After, and the hypothesis sees it', async () => {
    const scenario = defineScenario({
      name: 'rate-limit',
      description: 'OpenAI answers half its calls with 429 and Retry-After: 2 s.',
      seed: 5,
      router: {
        deployments: twoProviders.deployments.slice(0, 2),
        routes: [{ name: 'chat', deployments: ['openai-main'], fallbacks: ['anthropic-backup'] }],
      },
      load: { requests: 100, rate: 2 },
      faults: [
        {
          fault: 'rate_limit',
          params: { retryAfterMs: 2000 },
          target: { provider: 'openai' },
          rate: 0.5,
          from: '5s',
          to: '30s',
        },
      ],
      hypotheses: [
        { type: 'retry_after_respected' },
        { type: 'success_rate', atLeast: 0.99, phase: 'during' },
        // Three tries on OpenAI (maxAttempts), then one on the fallback.
        { type: 'max_attempts_per_request', atMost: 4 },
      ],
    });
    const journal = await runScenario(scenario);
    // The harness's own record of each 429's Retry-After, and the retry that followed it.
    const waits = journal.requests.flatMap((r) =>
      r.attempts.flatMap((a, i) =>
        a.retryAfterSentMs !== undefined && r.attempts[i + 1] ? [{ a, next: r.attempts[i + 1]! }] : [],
      ),
    );
    expect(waits.length).toBeGreaterThan(5);
    for (const { a, next } of waits) {
      expect(a.retryAfterSentMs).toBe(2000);
      if (next.deployment === a.deployment)
        expect(next.startMs).toBeGreaterThanOrEqual(a.endMs + a.retryAfterSentMs!);
    }
    const failed = journal.hypotheses.filter((h) => !h.passed);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(journal.hypotheses[0]!.actual).toMatch(/all on time/);
  });

  it('runs a scenario file end to end (router.path, prompt file, tenants, tags)', async () => {
    const scenario = await loadScenario(join(here, 'fixtures', 'openai-outage.yaml'));
    const journal = await runScenario(scenario);
    expect(journal.status).toBe('complete');
    expect(journal.mode).toBe('virtual');
    expect(journal.scenario).toMatchObject({ name: 'openai-outage', seed: 42 });
    expect(new Set(journal.requests.map((r) => r.tenant))).toEqual(new Set(['acme', 'globex']));
    const failed = journal.hypotheses.filter((h) => !h.passed);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(journal.hypotheses.every((h) => typeof h.line === 'number')).toBe(true);
    expect(journal.breakerTransitions.map((t) => t.to)).toContain('open');
    expect(journal.breakerTransitions.at(-1)!.to).toBe('closed');
  });

  it('an aborted run returns what happened so far, marked incomplete', async () => {
    const controller = new AbortController();
    const seen: RunProgress[] = [];
    const journal = await runScenario(busy, {
      signal: controller.signal,
      onProgress: (progress) => {
        seen.push(progress);
        if (progress.finished === 40) controller.abort();
      },
    });
    expect(journal.status).toBe('incomplete');
    expect(journal.verdict).toBe('incomplete');
    expect(journal.requests.length).toBeGreaterThanOrEqual(40);
    expect(journal.requests.length).toBeLessThan(150);
    expect(seen.at(-1)!.planned).toBe(150);
    expect(journal.wall.finishedAt).toBeDefined();
  });

  it('a signal aborted before the start yields an empty incomplete journal', async () => {
    const journal = await runScenario(busy, { signal: AbortSignal.abort() });
    expect(journal.status).toBe('incomplete');
    expect(journal.requests).toEqual([]);
  });
});

describe('runScenario (real time)', () => {
  it('runs on the wall clock against the in-process simulator', async () => {
    const scenario = defineScenario({
      name: 'real-time',
      description: 'A short burst on the wall clock, with instant simulated models.',
      seed: 2,
      router: {
        deployments: twoProviders.deployments.slice(0, 1),
        routes: [{ name: 'chat', deployments: ['openai-main'] }],
      },
      load: { requests: 20, rate: 100, arrivals: 'uniform', streamShare: 0.5 },
      simulator: { latency: { '*': { ttftMedianMs: 5, ttftSigma: 0, tokensPerSecond: 0 } } },
      faults: [{ fault: 'server_error', firstN: 2 }],
      hypotheses: [
        { type: 'success_rate', atLeast: 1 },
        { type: 'max_attempts_per_request', atMost: 2 },
      ],
    });
    const journal = await runScenario(scenario, { mode: 'real-time' });
    expect(journal).toMatchObject({ mode: 'real-time', status: 'complete', verdict: 'passed' });
    expect(journal.requests).toHaveLength(20);
    expect(journal.faultCounters.injected.server_error).toBe(2);
    expect(journal.durationMs).toBeGreaterThanOrEqual(190);
  });
});
