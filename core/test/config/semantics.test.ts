import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, type ConfigIssue, parseRouterConfig } from '../../src/runtime/config/index.ts';
import { type RouteConfig, routerConfigSchema } from '../../src/runtime/config/schema.ts';

/** Settings that parse but would not do what they say: they are errors (or warnings) at load. */

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function issuesOf(text: string): readonly ConfigIssue[] {
  try {
    parseRouterConfig(text, 'router.yaml', { onWarning: () => {} });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const deployments = yaml(
  'deployments:', //                                   1
  '  - id: known', //                                  2
  '    provider: openai', //                           3
  '    model: gpt-4.1', //                             4
  '  - id: mystery', //                                5
  '    provider: openai-compatible', //                6
  '    model: my-finetune-7b', //                      7
  '    baseURL: http://127.0.0.1:8000/v1', //          8
  'routes:', //                                        9
  '  - name: chat', //                                 10
  '    deployments: [known]', //                       11
  '    fallbacks: [mystery]', //                       12
);

// Issue 10, defect 10: a model missing from the price table cost $0 without a word and so passed
// every budget.
describe('a model with no price', () => {
  it('is a config error, at the model, when budgets are configured', () => {
    const issues = issuesOf(`${deployments}budgets:\n  - { tenant: '*', limitUsd: 5 }\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 7, column: 12, field: 'deployments[1].model' });
    expect(issues[0]!.message).toMatch(/"my-finetune-7b".*no price.*budgets are configured/);
  });

  it('is fine with budgets once it is given a price, on the deployment or in prices', () => {
    const budgets = "budgets:\n  - { tenant: '*', limitUsd: 5 }\n";
    const onDeployment = deployments.replace(
      '    model: my-finetune-7b\n',
      '    model: my-finetune-7b\n    price: { input: 0.2, output: 0.6 }\n',
    );
    expect(() => parseRouterConfig(`${onDeployment}${budgets}`, 'router.yaml')).not.toThrow();
    const inPrices = `${deployments}${budgets}prices:\n  my-finetune-7b: { input: 0.2, output: 0.6 }\n`;
    expect(() => parseRouterConfig(inPrices, 'router.yaml')).not.toThrow();
  });

  it('is rejected for a config built in code too (the Router parses it with the same schema)', () => {
    const result = routerConfigSchema.safeParse({
      deployments: [
        { id: 'x', provider: 'openai-compatible', model: 'nobody-knows', baseURL: 'http://h/v1' },
      ],
      budgets: [{ tenant: 'acme', limitUsd: 1 }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['deployments', 0, 'model']);
  });

  it('is a warning, at the model, without budgets', () => {
    const warnings: ConfigIssue[] = [];
    parseRouterConfig(deployments, 'router.yaml', { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      file: 'router.yaml',
      line: 7,
      column: 12,
      field: 'deployments[1].model',
    });
    expect(warnings[0]!.message).toMatch(/"my-finetune-7b".*no price.*\$0/);
  });

  describe('by default', () => {
    afterEach(() => vi.restoreAllMocks());
    it('warns through process.emitWarning, located', () => {
      const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      parseRouterConfig(deployments, 'router.yaml');
      expect(emitted).toHaveBeenCalledTimes(1);
      expect(String(emitted.mock.calls[0]![0])).toMatch(/^router\.yaml:7:12 deployments\[1\]\.model: /);
    });
  });
});

// Issue 10, defect 5: route-level policies.breaker (and retry.budget) passed validation and were
// ignored. A breaker is kept per deployment and shared by every route, so a route cannot set its own:
// that is now an error naming the field. (A route's retry.budget is honoured: see the router tests.)
describe('route-level policies that cannot apply per route', () => {
  it.each([
    ['breaker', '      breaker: { consecutiveFailures: 2 }'],
    ['cooldown', '      cooldown: { quotaExhaustedMs: 1000 }'],
  ])('%s is an error at the field, saying where to set it', (section, line) => {
    const issues = issuesOf(`${deployments}    policies:\n${line}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      line: 14,
      column: 9 + section.length,
      field: `routes[0].policies.${section}`,
    });
    expect(issues[0]!.message).toContain(`set it once in the global policies.${section}`);
  });

  it('still accepts the route-level sections that apply per request', () => {
    const text = `${deployments}    policies:\n      retry: { maxAttempts: 2, budget: { ratio: 0.1 } }\n      timeouts: { bodyIdleMs: 2000 }\n`;
    const config = parseRouterConfig(text, 'router.yaml', { onWarning: () => {} });
    const route = config.routes[0] as RouteConfig;
    expect(route.policies?.retry?.budget?.ratio).toBe(0.1);
    expect(route.policies?.timeouts?.bodyIdleMs).toBe(2_000);
  });
});
