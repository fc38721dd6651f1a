/**
 * Compare fan-out: one prompt streamed to N models at once (as `switchyard compare` does), against
 * the slowest of those models alone. Simulated providers on a RealClock with fixed latency profiles
 * (no randomness in timing), and every model answered by its own fresh simulator in each phase, so
 * it gives the same answer (same length, so the same streaming time) alone and in the fan-out: the
 * difference is what running them concurrently in one process costs. (With one shared simulator the
 * k-th call drew different text than the k-th call of the other phase: answer lengths, not overhead,
 * made the 6-model fan-out look 14% slower than the slowest model alone.)
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
/**
 * A router whose simulated providers are one fresh simulator per model: each model's first call gets
 * the same seeded answer whichever order the calls arrive in.
 */
function freshRouter(): Router {
  const simulators = new Map<string, typeof fetch>();
  const fetchByModel = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const { model } = (await request.clone().json()) as { model: string };
    let simulator = simulators.get(model);
    if (!simulator) {
      simulator = simulatorFetch({ clock, latency });
      simulators.set(model, simulator);
    }
    return simulator(request);
  }) as typeof fetch;
  return new Router({ config, clock, fetch: fetchByModel, env: { BENCH_KEY } });
}
const prompt = 'Explain what a circuit breaker does in a router, in three sentences.';

async function column(router: Router, model: string): Promise<{ ms: number; outputTokens: number }> {
  const started = performance.now();
  let outputTokens: number | undefined;
  for await (const event of router.stream({
    model,
    messages: [{ role: 'user', content: prompt }],
    maxOutputTokens: MAX_TOKENS,
  })) {
    if (event.type === 'done') outputTokens = event.response.usage.outputTokens;
    if (event.type === 'error') throw event.error;
  }
  if (outputTokens === undefined) throw new Error(`${model}: no answer`);
  return { ms: performance.now() - started, outputTokens };
}

const metrics: Record<string, number> = {};
const checks: Record<string, boolean> = {};
for (const n of [3, 6]) {
  const models = MODELS.slice(0, n).map(([m]) => m);
  const alone: number[] = [];
  const together: number[] = [];
  let sameAnswers = true;
  for (let r = 0; r < REPEATS; r++) {
    const single: Array<{ ms: number; outputTokens: number }> = [];
    for (const m of models) single.push(await column(freshRouter(), m));
    alone.push(Math.max(...single.map((c) => c.ms)));
    const router = freshRouter();
    const started = performance.now();
    const fanned = await Promise.all(models.map((m) => column(router, m)));
    together.push(performance.now() - started);
    sameAnswers &&= fanned.every((c, i) => c.outputTokens === single[i]!.outputTokens);
  }
  const slowest = median(alone);
  const fan = median(together);
  metrics[`n${n}_slowest_alone_ms`] = slowest;
  metrics[`n${n}_fanout_ms`] = fan;
  metrics[`n${n}_ratio`] = fan / slowest;
  checks[`fan-out of ${n} models completed`] = true;
  checks[`fan-out of ${n} models: each model gave the same answer alone and together`] = sameAnswers;
  console.log(
    `fan-out ${n} models: ${round(fan, 0)} ms wall vs slowest alone ${round(slowest, 0)} ms (×${round(fan / slowest, 3)})`,
  );
}
emit({ metrics, checks });
