// A plain ES module consumer of the installed package: the router, faults and scenarios entry points,
// one request routed through the simulator non-streamed and one streamed, and a scenario parsed.
import { connectRedisStore, RealClock, Router, startLocalRedis } from '@switchyard/core';
import { chaosFetch, createChaos, createSimulator, SIMULATED_API_KEY } from '@switchyard/core/faults';
import { renderMarkdown } from '@switchyard/core/reports';
import { defineScenario, runScenario } from '@switchyard/core/scenarios';

const clock = new RealClock();
const simulator = createSimulator({ clock, seed: 1, latency: { '*': { ttftMedianMs: 5, ttftSigma: 0 } } });
const chaos = createChaos({ clock, seed: 1, upstream: (request) => simulator.handle(request) });
const router = new Router({
  clock,
  fetch: chaosFetch(chaos),
  env: { OPENAI_API_KEY: SIMULATED_API_KEY },
  config: {
    deployments: [
      {
        id: 'openai/gpt-4.1',
        provider: 'openai',
        model: 'gpt-4.1',
        baseURL: 'http://simulator.local/v1',
        apiKey: { env: 'OPENAI_API_KEY' },
      },
    ],
    routes: [{ name: 'chat', deployments: ['openai/gpt-4.1'] }],
  },
});

const messages = [{ role: 'user', content: 'Say hello.' }];
const answer = await router.complete({ model: 'chat', messages, maxOutputTokens: 32 });
if (!answer.text || answer.deployment !== 'openai/gpt-4.1')
  throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
let streamed = '';
for await (const event of router.stream({ model: 'chat', messages, maxOutputTokens: 32 })) {
  if (event.type === 'text-delta') streamed += event.text;
  if (event.type === 'error') throw event.error;
}
if (!streamed) throw new Error('the stream carried no text');

// Shared state: the same request through a RedisStore on a private redis-server (CI installs it; the
// step says so and moves on where it is missing), which reads the package's Lua scripts.
let redisNote = 'no redis-server here';
const redis = await startLocalRedis({ persistence: 'none' }).catch(() => undefined);
if (redis) {
  try {
    const store = await connectRedisStore({ url: redis.url, prefix: 'smoke:' });
    const shared = new Router({
      clock,
      store,
      fetch: chaosFetch(chaos),
      env: { OPENAI_API_KEY: SIMULATED_API_KEY },
      config: router.config,
    });
    const viaRedis = await shared.complete({ model: 'chat', messages, maxOutputTokens: 32 });
    if (!viaRedis.text) throw new Error('no answer through the RedisStore');
    await store.close?.();
    redisNote = 'and through a RedisStore';
  } finally {
    await redis.stop();
  }
}

// A scenario built in code and run on the virtual clock: a minute of OpenAI 503s, Anthropic as fallback.
const journal = await runScenario(
  defineScenario({
    name: 'packaged',
    description: 'The router from the packed tarball, one minute of OpenAI 503s.',
    seed: 1,
    router: {
      deployments: [
        { id: 'openai', provider: 'openai', model: 'gpt-4.1', apiKey: { env: 'OPENAI_API_KEY' } },
        {
          id: 'claude',
          provider: 'anthropic',
          model: 'claude-sonnet-4-6',
          apiKey: { env: 'ANTHROPIC_API_KEY' },
        },
      ],
      routes: [{ name: 'chat', deployments: ['openai'], fallbacks: ['claude'] }],
    },
    load: { rate: 1, duration: '2m', streamShare: 0.5 },
    faults: [
      { id: 'down', fault: 'service_unavailable', target: { provider: 'openai' }, from: '30s', to: '90s' },
    ],
    hypotheses: [{ type: 'success_rate', atLeast: 0.99 }],
  }),
);
if (journal.verdict !== 'passed')
  throw new Error(`the scenario ${journal.verdict}: ${JSON.stringify(journal.hypotheses)}`);
const markdown = renderMarkdown(journal);
if (!markdown.includes('packaged')) throw new Error('the Markdown report does not name the scenario');
console.log(
  `consumer.mjs: routed ${answer.text.length} + ${streamed.length} characters (plain, streamed), ${redisNote}; scenario ${journal.verdict} with ${journal.requests.length} requests`,
);
