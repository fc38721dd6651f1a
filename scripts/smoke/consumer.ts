// A TypeScript consumer of the installed package, type-checked with `tsc --noEmit` under
// moduleResolution nodenext: every entry point's declarations resolve, and they are real types, not any.
import {
  type ChatResponse,
  type DecisionTrace,
  RealClock,
  Router,
  type RouterConfigInput,
} from '@switchyard/core';
import { chaosFetch, createChaos, createSimulator, type FaultRule } from '@switchyard/core/faults';
import { renderJUnit } from '@switchyard/core/reports';
import { defineScenario, type RunJournal, runScenario, type Scenario } from '@switchyard/core/scenarios';

const config: RouterConfigInput = {
  deployments: [{ id: 'openai', provider: 'openai', model: 'gpt-4.1', apiKey: { env: 'OPENAI_API_KEY' } }],
  routes: [{ name: 'chat', deployments: ['openai'] }],
};
const clock = new RealClock();
const simulator = createSimulator({ clock, seed: 1 });
const rules: FaultRule[] = [];
const chaos = createChaos({ clock, seed: 1, rules, upstream: (request) => simulator.handle(request) });
const router = new Router({ config, clock, fetch: chaosFetch(chaos) });
router.onTrace((trace: DecisionTrace) => trace.attempts.length);

export async function ask(text: string): Promise<string> {
  const answer: ChatResponse = await router.complete({
    model: 'chat',
    messages: [{ role: 'user', content: text }],
  });
  return answer.text;
}

export async function run(): Promise<string> {
  const scenario: Scenario = defineScenario({
    name: 's',
    router: config,
    load: { rate: 1, duration: '10s' },
  });
  const journal: RunJournal = await runScenario(scenario);
  return renderJUnit(journal);
}

// The declarations are precise: a provider that does not exist is a type error.
const wrong: RouterConfigInput = {
  // @ts-expect-error 'nope' is not a provider
  deployments: [{ id: 'x', provider: 'nope', model: 'm' }],
  routes: [],
};
void wrong;
