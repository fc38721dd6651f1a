/**
 * Compare fan-out: one prompt streamed to N models at once (as `switchyard compare` does), against
 * the slowest of those models alone. Simulated providers on a RealClock with fixed latency profiles
 * (no randomness: a model's latency is the same alone and in the fan-out), so the difference is what
 * running them concurrently in one process costs.
 */
import { RealClock, Router, type RouterConfigInput } from '@switchyard/core';
import { emit } from '../lib/result.ts';
import { BENCH_KEY, simulatorFetch } from '../lib/sim.ts';
import { median, round } from '../lib/stats.ts';

const MODELS: Array<[string, 'openai' | 'anthropic' | 'ollama', number, number]> = [
  // model, provider, TTFT ms, tokens/s
  ['gpt-4.1', 'openai', 300, 90],
  ['claude-sonnet-4-6', 'anthropic', 450, 70],
  ['llama3.2:latest', 'ollama', 200, 120],
  ['gpt-4.1-mini', 'openai', 250, 140],
  ['claude-haiku-4-5', 'anthropic', 280, 160],
  ['qwen2.5:7b', 'ollama', 350, 60],
];
const REPEATS = Number(process.env.BENCH_FANOUT_REPEATS ?? 3);
const MAX_TOKENS = 64;

const clock = new RealClock();
const latency = Object.fromEntries(
  MODELS.map(([model, , ttft, tps]) => [
    model,
    { ttftMedianMs: ttft, ttftSigma: 0, tokensPerSecond: tps, tokensPerSecondSd: 0 },
  ]),
);
const config: RouterConfigInput = {
  deployments: MODELS.map(([model, provider]) => ({
    id: model,
    provider,
    model,
    baseURL: provider === 'openai' ? 'http://simulator.local/v1' : 'http://simulator.local',
    ...(provider === 'ollama' ? {} : { apiKey: { env: 'BENCH_KEY' } }),
  })),
};
const router = new Router({
  config,
  clock,
  fetch: simulatorFetch({ clock, latency }),
  env: { BENCH_KEY },
});
const prompt = 'Explain what a circuit breaker does in a router, in three sentences.';

async function column(model: string): Promise<number> {
  const started = performance.now();
  let ok = false;
  for await (const event of router.stream({
    model,
    messages: [{ role: 'user', content: prompt }],
    maxOutputTokens: MAX_TOKENS,
  })) {
    if (event.type === 'done') ok = true;
    if (event.type === 'error') throw event.error;
  }
  if (!ok) throw new Error(`${model}: no answer`);
  return performance.now() - started;
}

const metrics: Record<string, number> = {};
const checks: Record<string, boolean> = {};
for (const n of [3, 6]) {
  const models = MODELS.slice(0, n).map(([m]) => m);
  const alone: number[] = [];
  const together: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const times = [];
    for (const m of models) times.push(await column(m));
    alone.push(Math.max(...times));
    const started = performance.now();
    await Promise.all(models.map(column));
    together.push(performance.now() - started);
  }
  const slowest = median(alone);
  const fan = median(together);
  metrics[`n${n}_slowest_alone_ms`] = slowest;
  metrics[`n${n}_fanout_ms`] = fan;
  metrics[`n${n}_ratio`] = fan / slowest;
  checks[`fan-out of ${n} models completed`] = true;
  console.log(
    `fan-out ${n} models: ${round(fan, 0)} ms wall vs slowest alone ${round(slowest, 0)} ms (×${round(fan / slowest, 3)})`,
  );
}
emit({ metrics, checks });
