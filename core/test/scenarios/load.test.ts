import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  createRequestFactory,
  defineScenario,
  loadScenario,
  parseDuration,
  parseScenario,
  type Scenario,
  ScenarioError,
  scenarioJsonSchema,
  toFaultWindows,
} from '../../src/scenarios/index.ts';

const here = import.meta.dirname;
const fixture = (name: string) => join(here, 'fixtures', name);

/** Runs a parse that must fail and returns its single located issue. */
async function issueOf(text: string, files: Record<string, string> = {}) {
  const readFile = async (path: string) => {
    if (path in files) return files[path]!;
    throw new Error(`ENOENT: no such file ${path}`);
  };
  const error = await parseScenario(text, '/s/case.yaml', { readFile }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScenarioError);
  const issues = (error as ScenarioError).issues;
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

const head = `name: x
description: y
router:
  deployments:
    - { id: oa, provider: openai, model: gpt-4o-mini }
`;

describe('parseScenario: broken scenarios name file, line, column and field', () => {
  const cases: Array<{ name: string; text: string; at: [number, number]; field: string; message: RegExp }> = [
    {
      name: 'tab indentation',
      text: `${head}load:\n\trequests: 3\n`,
      at: [7, 1],
      field: '',
      message: /Tabs/,
    },
    {
      name: 'unknown top-level field',
      text: `${head}load: { requests: 3, rate: 1 }\nfualts: []\n`,
      at: [7, 1],
      field: 'fualts',
      message: /unknown field "fualts"/,
    },
    { name: 'missing load', text: head, at: [1, 1], field: 'load', message: /missing required field "load"/ },
    {
      name: 'duration without a unit we know',
      text: `${head}load:\n  duration: 10 minutes\n  rate: 1\n`,
      at: [7, 13],
      field: 'load.duration',
      message: /expected a duration/,
    },
    {
      name: 'rate and concurrency together',
      text: `${head}load:\n  requests: 3\n  rate: 1\n  concurrency: 2\n`,
      at: [9, 16],
      field: 'load.concurrency',
      message: /not both/,
    },
    {
      name: 'neither requests nor duration',
      text: `${head}load:\n  rate: 1\n`,
      at: [7, 3],
      field: 'load.requests',
      message: /`requests`, `duration` or both/,
    },
    {
      name: 'fault not in the catalogue',
      text: `${head}load: { requests: 3, rate: 1 }\nfaults:\n  - fault: rate_limitt\n`,
      at: [8, 12],
      field: 'faults[0].fault',
      message: /expected one of "rate_limit"/,
    },
    {
      name: 'unknown fault parameter',
      text: `${head}load: { requests: 3, rate: 1 }\nfaults:\n  - fault: rate_limit\n    params:\n      retryAfter: 100\n`,
      at: [10, 19],
      field: 'faults[0].params.retryAfter',
      message: /no parameter "retryAfter" \(it has: retryAfterMs/,
    },
    {
      name: 'fault parameter of the wrong type',
      text: `${head}load: { requests: 3, rate: 1 }\nfaults:\n  - fault: rate_limit\n    params:\n      retryAfterMs: soon\n`,
      at: [10, 21],
      field: 'faults[0].params.retryAfterMs',
      message: /must be a number/,
    },
    {
      name: 'injection rate above 1',
      text: `${head}load: { requests: 3, rate: 1 }\nfaults:\n  - fault: server_error\n    rate: 1.5\n`,
      at: [9, 11],
      field: 'faults[0].rate',
      message: /<=1/,
    },
    {
      name: 'unknown hypothesis type',
      text: `${head}load: { requests: 3, rate: 1 }\nhypotheses:\n  - type: succes_rate\n    atLeast: 0.9\n`,
      at: [8, 11],
      field: 'hypotheses[0].type',
      message: /Invalid discriminator value/,
    },
    {
      name: 'hypothesis missing a choice',
      text: `${head}load: { requests: 3, rate: 1 }\nhypotheses:\n  - type: latency\n    atMost: 2s\n`,
      at: [8, 5],
      field: 'hypotheses[0].percentile',
      message: /missing required field "percentile" \(one of "p50", "p95", "p99"\)/,
    },
    {
      name: 'unknown phase',
      text: `${head}load: { requests: 3, rate: 1 }\nhypotheses:\n  - type: success_rate\n    atLeast: 0.5\n    phase: durring\n`,
      at: [10, 12],
      field: 'hypotheses[0].phase',
      message: /"overall"\|"before"\|"during"\|"after"/,
    },
    {
      name: 'inline router config: unknown deployment',
      text: `name: x\ndescription: y\nrouter:\n  deployments:\n    - { id: oa, provider: openai, model: gpt-4o-mini }\n  routes:\n    - name: r\n      deployments: [nope]\nload: { requests: 3, rate: 1 }\n`,
      at: [8, 21],
      field: 'router.routes[0].deployments[0]',
      message: /unknown deployment "nope"/,
    },
    {
      name: 'inline router config: a key in clear',
      text: `name: x\ndescription: y\nrouter:\n  deployments:\n    - id: oa\n      provider: openai\n      model: gpt-4o-mini\n      apiKey: sk-abc\nload: { requests: 3, rate: 1 }\n`,
      at: [8, 15],
      field: 'router.deployments[0].apiKey',
      message: /never written in the config in clear/,
    },
    {
      name: 'load names a route the config lacks',
      text: `${head}load:\n  requests: 3\n  rate: 1\n  routes: { nope: 1 }\n`,
      at: [9, 19],
      field: 'load.routes.nope',
      message: /unknown route "nope"/,
    },
    {
      name: 'duplicate key',
      text: `${head}load: { requests: 3, rate: 1 }\nname: again\n`,
      at: [7, 1],
      field: '',
      message: /unique/,
    },
    {
      name: 'router.path that cannot be read',
      text: `name: x\ndescription: y\nrouter: { path: missing.yaml }\nload: { requests: 3, rate: 1 }\n`,
      at: [3, 17],
      field: 'router.path',
      message: /cannot read router config \/s\/missing\.yaml/,
    },
    {
      name: 'prompt file that cannot be read',
      text: `${head}load:\n  requests: 3\n  rate: 1\n  prompts:\n    - file: nothere.txt\n`,
      at: [10, 13],
      field: 'load.prompts[0].file',
      message: /cannot read prompts/,
    },
    { name: 'empty document', text: '', at: [1, 1], field: '', message: /empty/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const issue = await issueOf(c.text);
      expect(issue.file).toBe('/s/case.yaml');
      expect([issue.line, issue.column]).toEqual(c.at);
      expect(issue.field).toBe(c.field);
      expect(issue.message).toMatch(c.message);
    });
  }

  it('an error inside the router file names that file', async () => {
    const issue = await issueOf(
      `name: x\ndescription: y\nrouter:\n  path: configs/router.yaml\nload: { requests: 3, rate: 1 }\n`,
      { '/s/configs/router.yaml': 'deployments:\n  - id: a\n    provider: opnai\n    model: m\n' },
    );
    expect(issue).toMatchObject({ file: '/s/configs/router.yaml', line: 3, column: 15 });
    expect(issue.field).toBe('deployments[0].provider');
  });

  it('the message reads file:line:column field: message', async () => {
    const error = await parseScenario(
      `${head}load: { requests: 3, rate: 1 }\nfualts: []\n`,
      'scn.yaml',
    ).catch((e: unknown) => e as ScenarioError);
    expect(String((error as ScenarioError).message)).toContain('scn.yaml:7:1 fualts: unknown field "fualts"');
  });
});

describe('broken scenario files (core/test/scenarios/broken/)', () => {
  const dir = join(here, 'broken');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(name, async () => {
      const path = join(dir, name);
      const expectation = /^# expect: (\d+):(\d+) (\S+): (.*)$/m.exec(readFileSync(path, 'utf8'));
      expect(expectation, 'each broken file states its expected error on line 1').not.toBeNull();
      const [, line, column, field, message] = expectation!;
      const error = await loadScenario(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScenarioError);
      const issue = (error as ScenarioError).issues[0]!;
      expect(issue).toMatchObject({ file: path, line: Number(line), column: Number(column), field });
      expect(issue.message).toContain(message);
    });
  }
});

describe('loadScenario', () => {
  it('resolves router.path and prompt files relative to the scenario, and keeps hypothesis lines', async () => {
    const scenario: Scenario = await loadScenario(fixture('openai-outage.yaml'));
    expect(scenario.name).toBe('openai-outage');
    expect(scenario.routerFile).toBe(fixture('router.yaml'));
    expect(scenario.router.deployments.map((d) => d.id)).toEqual(['openai-main', 'anthropic-backup']);
    // Defaults applied to the referenced config, as for an inline one.
    expect(scenario.router.policies.retry.maxAttempts).toBe(3);
    expect(scenario.promptFiles?.[1]).toHaveLength(3);
    expect(scenario.faults[0]).toMatchObject({ from: 10_000, to: 40_000 });
    // Each hypothesis keeps the line of its `- type:` entry.
    const lines = readFileSync(fixture('openai-outage.yaml'), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.startsWith('  - type:') ? [i + 1] : []));
    expect(lines).toHaveLength(6);
    expect(scenario.hypothesisLines).toEqual(lines);
  });

  it('for a live run, an unset key variable is an error at its line, in the router file or inline', async () => {
    const env = { OPENAI_API_KEY: 'k' };
    const fromFile = await loadScenario(fixture('openai-outage.yaml'), { env }).catch((e: unknown) => e);
    expect(fromFile).toBeInstanceOf(ScenarioError);
    expect((fromFile as ScenarioError).issues).toEqual([
      expect.objectContaining({
        file: fixture('router.yaml'),
        line: 9,
        field: 'deployments[1].apiKey.env',
        message: expect.stringContaining('ANTHROPIC_API_KEY is not set'),
      }),
    ]);
    const inline = [
      'name: inline',
      'description: keys named inline',
      'router:',
      '  deployments:',
      '    - { id: a, provider: anthropic, model: claude-haiku-4-5, apiKey: { env: ANTHROPIC_API_KEY } }',
      'load: { requests: 1, rate: 1 }',
      'hypotheses: [{ type: success_rate, atLeast: 0.5 }]',
    ].join('\n');
    const error = await parseScenario(inline, '/s/inline.yaml', { env }).catch((e: unknown) => e);
    expect((error as ScenarioError).issues).toEqual([
      expect.objectContaining({ file: '/s/inline.yaml', line: 5, field: 'router.deployments[0].apiKey.env' }),
    ]);
    // Simulated runs (no env given) do not need the keys.
    await expect(parseScenario(inline, '/s/inline.yaml')).resolves.toBeDefined();
  });

  it('files it names resolve next to it, and one outside the project folder needs allowOutsideProject', async () => {
    const files: Record<string, string> = {
      '/work/project/scenarios/router.yaml': 'deployments: [{ id: a, provider: ollama, model: llama3.2 }]\n',
      '/etc/router.yaml': 'deployments: [{ id: a, provider: ollama, model: llama3.2 }]\n',
      '/home/me/.ssh/id_rsa.txt': 'secret line\n',
    };
    const readFile = async (path: string) => {
      if (path in files) return files[path]!;
      throw new Error(`ENOENT ${path}`);
    };
    const scenario = (router: string, prompts?: string) =>
      [
        'name: refs',
        'description: files named by a scenario',
        `router: { path: ${router} }`,
        `load: { requests: 1, rate: 1${prompts ? `, prompts: [{ file: ${prompts} }]` : ''} }`,
        'hypotheses: [{ type: success_rate, atLeast: 0.5 }]',
      ].join('\n');
    const file = '/work/project/scenarios/s.yaml';
    const root = '/work/project';
    const ok = await parseScenario(scenario('router.yaml'), file, { readFile, root });
    expect(ok.routerFile).toBe('/work/project/scenarios/router.yaml');
    for (const [text, field, line] of [
      [scenario('../../../etc/router.yaml'), 'router.path', 3],
      [scenario('/etc/router.yaml'), 'router.path', 3],
      [scenario('router.yaml', '/home/me/.ssh/id_rsa.txt'), 'load.prompts[0].file', 4],
    ] as const) {
      const error = await parseScenario(text, file, { readFile, root }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScenarioError);
      expect((error as ScenarioError).issues).toEqual([
        expect.objectContaining({
          file,
          line,
          field,
          message: expect.stringMatching(
            /outside the project folder \/work\/project.*--allow-outside-project/,
          ),
        }),
      ]);
      await expect(
        parseScenario(text, file, { readFile, root, allowOutsideProject: true }),
      ).resolves.toBeDefined();
    }
  });

  it('an unreadable scenario file is a ScenarioError', async () => {
    const error = await loadScenario(join(tmpdir(), 'no-such-scenario.yaml')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).issues[0]!.message).toMatch(/cannot read scenario/);
  });

  it('reads prompts from .txt, .jsonl and YAML lists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-scenario-'));
    await writeFile(join(dir, 'a.jsonl'), '{"prompt":"one"}\n"two"\n');
    await writeFile(join(dir, 'b.yaml'), '- three\n- prompt: four\n');
    await writeFile(join(dir, 'router.yaml'), readFileSync(fixture('router.yaml')));
    await writeFile(
      join(dir, 's.yaml'),
      'name: x\ndescription: y\nrouter: { path: router.yaml }\nload:\n  requests: 2\n  rate: 1\n  prompts:\n    - file: a.jsonl\n    - file: b.yaml\n',
    );
    const scenario = await loadScenario(join(dir, 's.yaml'));
    expect(scenario.promptFiles).toEqual({ 0: ['one', 'two'], 1: ['three', 'four'] });
  });
});

describe('durations', () => {
  it('reads numbers as ms and strings with a unit', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('10 minutes')).toBeUndefined();
  });

  it('reads compound durations, largest unit first', () => {
    expect(parseDuration('2m30s')).toBe(150_000);
    expect(parseDuration('1h15m')).toBe(4_500_000);
    expect(parseDuration('1m0.5s')).toBe(60_500);
    expect(parseDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(parseDuration('30s2m')).toBeUndefined();
    expect(parseDuration('2m2m')).toBeUndefined();
    expect(parseDuration('5')).toBeUndefined();
  });
});

describe('scenarioJsonSchema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(scenarioJsonSchema());

  it('accepts the example scenario (what editors see through $schema)', () => {
    const data = parseYaml(readFileSync(fixture('openai-outage.yaml'), 'utf8'));
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects an unknown fault and an unknown hypothesis field', () => {
    const data = parseYaml(readFileSync(fixture('openai-outage.yaml'), 'utf8'));
    data.faults[0].fault = 'nope';
    expect(validate(data)).toBe(false);
    const other = parseYaml(readFileSync(fixture('openai-outage.yaml'), 'utf8'));
    other.hypotheses[0].atleast = 0.5;
    expect(validate(other)).toBe(false);
  });
});

describe('stream shares per route and tenant, and forced', () => {
  const scenario = defineScenario({
    name: 'shares',
    description: 'Streams only for the trial tenant and the long-docs route.',
    router: {
      deployments: [{ id: 'a', provider: 'openai', model: 'gpt-4o-mini' }],
      routes: [
        { name: 'chat', deployments: ['a'] },
        { name: 'long-docs', deployments: ['a'] },
      ],
      defaultRoute: 'chat',
    },
    load: {
      requests: 400,
      rate: 1,
      routes: { chat: 1, 'long-docs': 1 },
      tenants: { acme: 1, trial: 1 },
      streamShare: { default: 0, routes: { 'long-docs': 1 }, tenants: { trial: 0.5 } },
    },
  });
  const requests = Array.from({ length: 400 }, (_, i) => createRequestFactory(scenario, 3)(i));
  const share = (pick: (r: (typeof requests)[number]) => boolean) => {
    const some = requests.filter(pick);
    return some.filter((r) => r.stream).length / some.length;
  };

  it("a tenant's share wins over its route's, which wins over the default", () => {
    expect(share((r) => r.request.tenant === 'acme' && r.request.model === 'chat')).toBe(0);
    expect(share((r) => r.request.tenant === 'acme' && r.request.model === 'long-docs')).toBe(1);
    const trial = share((r) => r.request.tenant === 'trial');
    expect(trial).toBeGreaterThan(0.35);
    expect(trial).toBeLessThan(0.65);
  });

  it('--stream-share forces one share and changes nothing else about the requests', () => {
    const forced = Array.from({ length: 400 }, (_, i) => createRequestFactory(scenario, 3, 1)(i));
    expect(forced.every((r) => r.stream)).toBe(true);
    expect(forced.map((r) => r.request)).toEqual(requests.map((r) => r.request));
  });
});

describe('fault windows of a repeating schedule', () => {
  it('one window per down period, clipped to `to`', () => {
    const [fault] = defineScenario({
      name: 'w',
      description: 'w',
      router: { deployments: [{ id: 'a', provider: 'openai', model: 'gpt-4o-mini' }] },
      load: { requests: 1, rate: 1 },
      faults: [
        { id: 'flap', fault: 'server_error', from: '30s', to: '2m40s', repeat: { down: '20s', up: '40s' } },
      ],
    }).faults;
    expect(toFaultWindows(fault!, 0, 600_000).map((w) => [w.fromMs, w.toMs])).toEqual([
      [30_000, 50_000],
      [90_000, 110_000],
      [150_000, 160_000],
    ]);
  });
});
