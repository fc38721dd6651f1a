/**
 * A runnable example: the router in front of three simulated providers (no API keys needed), with
 * OpenAI made to fail. Every request prints its decision trace: what was tried, why it failed, how
 * long the router waited, and where the answer finally came from.
 *
 *   npm run example
 */
import { formatPath, RealClock, Router } from '@switchyard/core';
import { chaosFetch, createChaos, createSimulator, SIMULATED_API_KEY } from '@switchyard/core/faults';

const clock = new RealClock();
const simulator = createSimulator({ clock, seed: 7 });
const chaos = createChaos({
  clock,
  seed: 7,
  upstream: (request) => simulator.handle(request),
  rules: [
    // OpenAI rate-limits the first two calls, asking for a 1 s wait, then is overloaded now and then.
    {
      id: 'openai-429',
      fault: 'rate_limit',
      params: { retryAfterMs: 1_000 },
      target: { provider: 'openai' },
      injection: { firstN: 2 },
    },
    {
      id: 'openai-503',
      fault: 'service_unavailable',
      target: { provider: 'openai' },
      injection: { everyNth: 3 },
    },
  ],
});

const router = new Router({
  clock,
  // The simulator is delivered in-process under the real SDKs; point baseURLs at real providers
  // (and drop `fetch`) to route live traffic.
  fetch: chaosFetch(chaos),
  env: { OPENAI_API_KEY: SIMULATED_API_KEY, ANTHROPIC_API_KEY: SIMULATED_API_KEY },
  config: {
    deployments: [
      {
        id: 'openai/gpt-4.1',
        provider: 'openai',
        model: 'gpt-4.1',
        baseURL: 'http://simulator.local/v1',
        apiKey: { env: 'OPENAI_API_KEY' },
      },
      {
        id: 'anthropic/claude-sonnet-4-6',
        provider: 'anthropic',
        model: 'claude-sonnet-4-6',
        baseURL: 'http://simulator.local',
        apiKey: { env: 'ANTHROPIC_API_KEY' },
      },
      {
        id: 'ollama/llama3.2',
        provider: 'ollama',
        model: 'llama3.2:latest',
        baseURL: 'http://simulator.local',
      },
    ],
    routes: [
      {
        name: 'chat',
        deployments: ['openai/gpt-4.1'],
        fallbacks: ['anthropic/claude-sonnet-4-6', 'ollama/llama3.2'],
      },
    ],
    policies: {
      retry: { maxAttempts: 2, baseDelayMs: 200, retryAfterCapMs: 2_000 },
      breaker: { consecutiveFailures: 3, openMs: 5_000 },
    },
  },
});

router.onTrace((trace) => {
  const ms = Math.round((trace.endedAt ?? trace.startedAt) - trace.startedAt);
  console.log(
    `\n${trace.id.slice(0, 8)}  ${trace.outcome === 'success' ? '✓' : '✗'} ${ms} ms  $${trace.costUsd.toFixed(6)}`,
  );
  console.log(`  path: ${formatPath(trace)}`);
  for (const candidate of trace.candidates.filter((c) => c.skipped)) {
    console.log(`  skipped ${candidate.deployment}: ${candidate.skipped} (${candidate.detail ?? ''})`);
  }
});

const prompts = [
  'Name three rivers.',
  'What is a circuit breaker?',
  'Summarise TCP in one line.',
  'Haiku about retries.',
  'Define idempotency.',
];
for (const prompt of prompts) {
  const response = await router.complete({
    model: 'chat',
    messages: [{ role: 'user', content: prompt }],
    maxOutputTokens: 60,
  });
  console.log(`  answer from ${response.deployment}: ${response.text.slice(0, 70).replace(/\s+/g, ' ')}…`);
}
const counters = chaos.counters();
console.log(
  `\nfaults injected: ${JSON.stringify(counters.injected.byFault)} over ${counters.requests.total} provider calls`,
);
console.log(`breaker for openai/gpt-4.1: ${await router.breakers.state('openai/gpt-4.1')}`);
