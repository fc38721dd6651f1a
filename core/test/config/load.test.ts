import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import {
  ConfigError,
  formatFieldPath,
  loadRouterConfig,
  locateYamlPath,
  parseRouterConfig,
  parseYamlWithSchema,
  resolveApiKey,
} from '../../src/runtime/config/index.ts';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** The issues of a config that must fail to parse. */
function issuesOf(text: string, file = 'router.yaml') {
  try {
    parseRouterConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return { error, issues: error.issues };
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const good = yaml(
  '# Switchyard router config', //                     1
  'deployments:', //                                   2
  '  - id: openai-mini', //                            3
  '    provider: openai', //                           4
  '    model: gpt-4o-mini', //                         5
  '    apiKey: { env: OPENAI_API_KEY }', //            6
  '  - id: claude-haiku', //                           7
  '    provider: anthropic', //                        8
  '    model: claude-haiku-4-5', //                    9
  '    apiKey:', //                                    10
  '      env: ANTHROPIC_API_KEY', //                   11
  '    weight: 2', //                                  12
  '  - id: local', //                                  13
  '    provider: ollama', //                           14
  '    model: llama3.2', //                            15
  '    baseURL: http://localhost:11434', //            16
  'routes:', //                                        17
  '  - name: chat', //                                 18
  '    deployments: [openai-mini, claude-haiku]', //   19
  '    fallbacks: [local]', //                         20
  '    policies:', //                                  21
  '      retry: { maxAttempts: 2 }', //                22
  'budgets:', //                                       23
  "  - tenant: '*'", //                                24
  '    limitUsd: 5', //                                25
  'cache:', //                                         26
  '  enabled: true', //                                27
);

/** `good` with line `n` (1-based) replaced by `replacement` lines. */
function edit(n: number, ...replacement: string[]): string {
  const lines = good.split('\n');
  lines.splice(n - 1, 1, ...replacement);
  return lines.join('\n');
}

describe('parseRouterConfig: a good config', () => {
  it('parses with defaults applied', () => {
    const config = parseRouterConfig(good, 'router.yaml');
    expect(config.deployments.map((d) => d.id)).toEqual(['openai-mini', 'claude-haiku', 'local']);
    expect(config.deployments[0]).toMatchObject({ weight: 1, tags: [], apiKey: { env: 'OPENAI_API_KEY' } });
    expect(config.deployments[1]!.weight).toBe(2);
    expect(config.routes[0]).toMatchObject({
      strategy: 'ordered',
      onContextOverflow: [],
      fallbacks: ['local'],
    });
    // A route's overrides carry only what was written, so the rest is inherited from the global policies.
    expect(config.routes[0]!.policies).toEqual({ retry: { maxAttempts: 2 } });
    expect(config.policies.retry).toMatchObject({ maxAttempts: 3, baseDelayMs: 250, jitter: 'full' });
    expect(config.policies.timeouts.totalMs).toBe(300_000);
    expect(config.budgets).toEqual([{ tenant: '*', period: 'day', limitUsd: 5 }]);
    expect(config.cache).toEqual({ enabled: true, ttlMs: 300_000 });
    expect(config.prices).toEqual({});
  });

  it('round-trips: the parsed config, written out as JSON, parses to the same config', () => {
    const config = parseRouterConfig(good, 'router.yaml');
    const again = parseRouterConfig(JSON.stringify(config, null, 2), 'router.json');
    expect(again).toEqual(config);
  });

  it('reads JSON, including tab-indented JSON', () => {
    const json =
      '{\n\t"deployments": [\n\t\t{ "id": "a", "provider": "ollama", "model": "qwen2.5" }\n\t]\n}\n';
    expect(parseRouterConfig(json, 'router.json').deployments[0]).toMatchObject({ id: 'a', weight: 1 });
  });
});

describe('parseRouterConfig: broken configs', () => {
  interface Case {
    name: string;
    text: string;
    issues: Array<{ line: number; column: number; field: string; message: RegExp }>;
  }
  const cases: Case[] = [
    {
      name: 'unclosed flow sequence (YAML syntax)',
      text: edit(19, '    deployments: [openai-mini, claude-haiku'),
      issues: [{ line: 20, column: 5, field: '', message: /flow sequence|\]/i }],
    },
    {
      name: 'tab indentation (YAML syntax)',
      text: edit(4, '\tprovider: openai'),
      issues: [{ line: 4, column: 1, field: '', message: /tabs/i }],
    },
    {
      name: 'duplicate key (YAML)',
      text: edit(5, '    model: gpt-4o-mini', '    model: gpt-4.1'),
      issues: [{ line: 6, column: 5, field: '', message: /unique/ }],
    },
    {
      name: 'wrong type: a word where a number belongs',
      text: edit(12, '    weight: heavy'),
      issues: [
        { line: 12, column: 13, field: 'deployments[1].weight', message: /expected number, received string/ },
      ],
    },
    {
      name: 'wrong type in a flow map of a route policy',
      text: edit(22, "      retry: { maxAttempts: 'two' }"),
      issues: [
        { line: 22, column: 29, field: 'routes[0].policies.retry.maxAttempts', message: /expected number/ },
      ],
    },
    {
      name: 'value out of range',
      text: edit(25, '    limitUsd: 0'),
      issues: [{ line: 25, column: 15, field: 'budgets[0].limitUsd', message: /expected number to be >0/ }],
    },
    {
      name: 'unknown enum value',
      text: edit(8, '    provider: anthropik'),
      issues: [{ line: 8, column: 15, field: 'deployments[1].provider', message: /"anthropic"/ }],
    },
    {
      name: 'unknown deployment in a route',
      text: edit(19, '    deployments: [openai-mini, claud-haiku]'),
      issues: [
        {
          line: 19,
          column: 32,
          field: 'routes[0].deployments[1]',
          message: /unknown deployment "claud-haiku"/,
        },
      ],
    },
    {
      name: 'unknown deployment in a fallback chain',
      text: edit(20, '    fallbacks: [locale]'),
      issues: [
        { line: 20, column: 17, field: 'routes[0].fallbacks[0]', message: /unknown deployment "locale"/ },
      ],
    },
    {
      name: 'duplicate deployment id',
      text: edit(13, '  - id: openai-mini'),
      issues: [
        // Renaming 'local' also leaves the route's fallback pointing at nothing: both are reported.
        { line: 13, column: 9, field: 'deployments[2].id', message: /duplicate deployment id "openai-mini"/ },
        { line: 20, column: 17, field: 'routes[0].fallbacks[0]', message: /unknown deployment "local"/ },
      ],
    },
    {
      name: 'plain-string apiKey',
      text: edit(6, '    apiKey: sk-live-abc123'),
      issues: [{ line: 6, column: 13, field: 'deployments[0].apiKey', message: /use \{ env: NAME \}/ }],
    },
    {
      name: 'apiKey object of the wrong shape',
      text: edit(6, '    apiKey: { variable: OPENAI_API_KEY }'),
      issues: [
        {
          line: 6,
          column: 13,
          field: 'deployments[0].apiKey',
          message: /\{ env: NAME \} or \{ secret: NAME \}/,
        },
      ],
    },
    {
      name: 'unknown field, pointed at its key',
      text: edit(5, '    model: gpt-4o-mini', '    temprature: 0.2'),
      issues: [
        { line: 6, column: 5, field: 'deployments[0].temprature', message: /unknown field "temprature"/ },
      ],
    },
    {
      name: 'unknown nested field in a flow map',
      text: edit(22, '      retry: { maxAtempts: 2 }'),
      issues: [
        { line: 22, column: 16, field: 'routes[0].policies.retry.maxAtempts', message: /unknown field/ },
      ],
    },
    {
      name: 'missing required field, pointed at the map that lacks it',
      text: edit(9),
      issues: [
        { line: 7, column: 5, field: 'deployments[1].model', message: /missing required field "model"/ },
      ],
    },
    {
      name: 'key with no value',
      text: edit(14, '    provider:'),
      issues: [{ line: 14, column: 5, field: 'deployments[2].provider', message: /expected one of/ }],
    },
    {
      name: 'a union none of whose forms match',
      text: edit(22, '      hedge: { delay: p99 }', '    xx: 1'),
      issues: [
        {
          line: 22,
          column: 23,
          field: 'routes[0].policies.hedge.delay',
          message: /expected number.*or.*"p95"/,
        },
        { line: 23, column: 5, field: 'routes[0].xx', message: /unknown field "xx"/ },
      ],
    },
    {
      name: 'price override keyed by a model name with dots',
      text: `${good}prices:\n  gpt-4.1: { input: -1, output: 8 }\n`,
      issues: [
        { line: 29, column: 21, field: 'prices["gpt-4.1"].input', message: /expected number to be >=0/ },
      ],
    },
    {
      name: 'unknown default route',
      text: `${good}defaultRoute: chatt\n`,
      issues: [{ line: 28, column: 15, field: 'defaultRoute', message: /unknown route "chatt"/ }],
    },
    {
      name: 'no deployments at all',
      text: yaml('routes: []'),
      issues: [{ line: 1, column: 1, field: 'deployments', message: /missing required field "deployments"/ }],
    },
    {
      name: 'empty document',
      text: '',
      issues: [{ line: 1, column: 1, field: '', message: /empty/ }],
    },
    {
      name: 'broken JSON value',
      text: '{\n  "deployments": [\n    { "id": "a", "provider": "openai", "model": 5 }\n  ]\n}\n',
      issues: [
        { line: 3, column: 49, field: 'deployments[0].model', message: /expected string, received number/ },
      ],
    },
  ];

  it.each(cases)('$name', ({ text, issues: expected }) => {
    const { issues } = issuesOf(text);
    expect(issues.map(({ line, column, field }) => ({ line, column, field }))).toEqual(
      expected.map(({ line, column, field }) => ({ line, column, field })),
    );
    issues.forEach((issue, i) => {
      expect(issue.message).toMatch(expected[i]!.message);
      expect(issue.file).toBe('router.yaml');
    });
  });

  it('reports every problem of a file at once, in file order, in one error', () => {
    const text = edit(12, '    weight: heavy', '    colour: blue').replace('model: gpt-4o-mini', 'model: 42');
    const { error, issues } = issuesOf(text);
    expect(issues.map((i) => i.field)).toEqual([
      'deployments[0].model',
      'deployments[1].weight',
      'deployments[1].colour',
    ]);
    expect(error.message).toContain('router.yaml (3 problems)');
    expect(error.message).toContain(
      'router.yaml:5:12 deployments[0].model: Invalid input: expected string, received number',
    );
    expect(error.message).toContain('router.yaml:12:13 deployments[1].weight: ');
    expect(error.message).toContain('router.yaml:13:5 deployments[1].colour: unknown field "colour"');
    expect(error.name).toBe('ConfigError');
  });

  it.each([
    ['Authorization', 'Bearer sk-live-abc123def456'],
    ['x-api-key', 'sk-ant-live-abc123def456'],
    ['api-key', 'live0abc123def456'],
    ['X-Custom', 'sk-live-abc123def456'],
  ])('rejects a literal credential in headers (%s) at its line, without echoing it', (name, value) => {
    const { error, issues } = issuesOf(edit(6, '    headers:', `      ${name}: ${value}`));
    expect(issues).toEqual([
      expect.objectContaining({
        line: 7,
        column: name.length + 9,
        field: `deployments[0].headers${/^[\w$]+$/.test(name) ? `.${name}` : `["${name}"]`}`,
        message: expect.stringMatching(/never written in the config in clear/),
      }),
    ]);
    expect(error.message).not.toContain(value);
  });

  it('rejects a baseURL with user:password or a key in its query, without echoing it', () => {
    for (const url of [
      'https://bob:hunter2hunter2@llm.example.com/v1',
      'https://llm.example.com/v1?api_key=hunter2hunter2',
    ]) {
      const { error, issues } = issuesOf(edit(16, `    baseURL: ${url}`));
      expect(issues).toEqual([
        expect.objectContaining({
          line: 16,
          column: 14,
          field: 'deployments[2].baseURL',
          message: expect.stringMatching(/never written in the config in clear/),
        }),
      ]);
      expect(error.message).not.toContain('hunter2');
    }
    // An ordinary header and URL are fine.
    expect(() => parseRouterConfig(edit(6, '    headers: { x-tenant: acme }'), 'r.yaml')).not.toThrow();
  });

  it('never echoes a plain-string key in the error', () => {
    const { error } = issuesOf(edit(6, '    apiKey: sk-live-abc123'));
    expect(error.message).not.toContain('sk-live-abc123');
  });
});

describe('parseRouterConfig: huge or hostile YAML', () => {
  it('refuses a file over the size limit at once, and a larger limit lets it through', () => {
    const big = `${good}# ${'x'.repeat(1_100_000)}\n`;
    const started = performance.now();
    const { issues } = issuesOf(big);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(issues).toEqual([
      expect.objectContaining({
        line: 0,
        message: expect.stringMatching(/1,1\d\d,\d\d\d bytes.*limit of 1,048,576.*--max-yaml-bytes/),
      }),
    ]);
    expect(parseRouterConfig(big, 'router.yaml', { maxBytes: 2_000_000 }).deployments).toHaveLength(3);
  });

  it('cuts a long value it echoes', () => {
    const id = `openai-${'m'.repeat(500_000)}`;
    const { error, issues } = issuesOf(edit(19, `    deployments: [${id}, claude-haiku]`));
    expect(issues[0]!.message).toMatch(/^unknown deployment "openai-mmm/);
    expect(issues[0]!.message.length).toBeLessThan(400);
    expect(error.message.length).toBeLessThan(1_000);
  });

  it('rejects tags it does not know, at their line', () => {
    for (const tag of ['!!js/function', '!include', '!env']) {
      const { issues } = issuesOf(edit(5, `    model: ${tag} gpt-4o-mini`));
      expect(issues).toEqual([
        expect.objectContaining({
          line: 5,
          column: 12,
          message: expect.stringContaining(`unknown YAML tag ${tag}`),
        }),
      ]);
    }
    // The standard ones are fine.
    expect(parseRouterConfig(edit(5, '    model: !!str gpt-4o-mini'), 'r.yaml').deployments[0]!.model).toBe(
      'gpt-4o-mini',
    );
  });
});

describe('loadRouterConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a YAML file and names it in errors', async () => {
    const path = join(dir, 'router.yaml');
    await writeFile(path, good);
    expect((await loadRouterConfig(path)).routes[0]!.name).toBe('chat');
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, edit(12, '    weight: heavy'));
    const error = await loadRouterConfig(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ file: broken, line: 12, column: 13 });
  });

  it('with the environment the keys come from, an unset key variable is an error at its line', async () => {
    const path = join(dir, 'keys.yaml');
    await writeFile(path, good);
    const error = await loadRouterConfig(path, { env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: '' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        file: path,
        line: 11,
        column: 12,
        field: 'deployments[1].apiKey.env',
        message:
          'environment variable ANTHROPIC_API_KEY is not set (deployment "claude-haiku" takes its key from it)',
      },
    ]);
    // Both set: fine; no environment given (validate, simulated runs): not checked.
    await expect(
      loadRouterConfig(path, { env: { OPENAI_API_KEY: 'k', ANTHROPIC_API_KEY: 'a' } }),
    ).resolves.toBeDefined();
    await expect(loadRouterConfig(path)).resolves.toBeDefined();
  });

  it('turns an unreadable file into a ConfigError', async () => {
    const missing = join(dir, 'nope.yaml');
    const error = await loadRouterConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ file: missing, line: 0, field: '' });
    expect((error as ConfigError).message).toContain(`${missing}: cannot read config`);
  });
});

describe('locateYamlPath', () => {
  const text = yaml(
    'steps:', //                 1
    '  - at: 10s', //            2
    '    fault: { kind: 500 }', // 3
    '  - &second', //            4
    '    at: 20s', //            5
    'again: *second', //         6
  );
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });

  it('finds values in block and flow collections', () => {
    expect(locateYamlPath(doc, lineCounter, ['steps', 0, 'at'])).toEqual({ line: 2, column: 9, exact: true });
    expect(locateYamlPath(doc, lineCounter, ['steps', 0, 'fault', 'kind'])).toEqual({
      line: 3,
      column: 20,
      exact: true,
    });
    expect(locateYamlPath(doc, lineCounter, ['steps', 0, 'fault', 'kind'], { at: 'key' })).toMatchObject({
      line: 3,
      column: 14,
    });
  });

  it('follows aliases to their anchors', () => {
    expect(locateYamlPath(doc, lineCounter, ['again', 'at'])).toEqual({ line: 5, column: 9, exact: true });
  });

  it('points at the deepest existing node when the path is missing', () => {
    expect(locateYamlPath(doc, lineCounter, ['steps', 0, 'fault', 'status'])).toEqual({
      line: 3,
      column: 12,
      exact: false,
    });
    expect(locateYamlPath(doc, lineCounter, ['steps', 7])).toEqual({ line: 2, column: 3, exact: false });
    expect(locateYamlPath(doc, lineCounter, [])).toEqual({ line: 1, column: 1, exact: true });
  });

  it('backs a reusable parser for other schemas (e.g. scenario files)', () => {
    const scenario = z.strictObject({
      steps: z.array(z.strictObject({ at: z.string(), fault: z.unknown() })),
    });
    const error = (() => {
      try {
        parseYamlWithSchema(yaml('steps:', '  - at: 10', '    fault: x'), 'scenario.yaml', scenario);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        file: 'scenario.yaml',
        line: 2,
        column: 9,
        field: 'steps[0].at',
        message: 'Invalid input: expected string, received number',
      },
    ]);
  });
});

describe('formatFieldPath', () => {
  it('writes paths the way people read them', () => {
    expect(formatFieldPath(['routes', 0, 'deployments', 1])).toBe('routes[0].deployments[1]');
    expect(formatFieldPath(['prices', 'gpt-4.1', 'input'])).toBe('prices["gpt-4.1"].input');
    expect(formatFieldPath([])).toBe('');
  });
});

describe('resolveApiKey', () => {
  it('reads { env } from the given environment, else process.env', () => {
    const deployment = { apiKey: { env: 'SWITCHYARD_TEST_KEY' } };
    expect(resolveApiKey(deployment, { env: { SWITCHYARD_TEST_KEY: 'k-1' } })).toBe('k-1');
    process.env.SWITCHYARD_TEST_KEY = 'k-process';
    try {
      expect(resolveApiKey(deployment)).toBe('k-process');
    } finally {
      delete process.env.SWITCHYARD_TEST_KEY;
    }
  });

  it('reads { secret } from a map or a function', () => {
    const deployment = { apiKey: { secret: 'openai/prod' } };
    expect(resolveApiKey(deployment, { secrets: { 'openai/prod': 's-1' } })).toBe('s-1');
    expect(resolveApiKey(deployment, { secrets: (name) => `from-vault:${name}` })).toBe(
      'from-vault:openai/prod',
    );
    expect(resolveApiKey(deployment, {})).toBeUndefined();
  });

  it('is undefined without an apiKey, or when the variable is unset or empty', () => {
    expect(resolveApiKey({}, { env: { X: 'y' } })).toBeUndefined();
    expect(resolveApiKey({ apiKey: { env: 'MISSING' } }, { env: {} })).toBeUndefined();
    expect(resolveApiKey({ apiKey: { env: 'EMPTY' } }, { env: { EMPTY: '' } })).toBeUndefined();
  });
});
