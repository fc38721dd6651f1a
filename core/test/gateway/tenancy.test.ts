import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig, sha256Hex, startGateway } from '../../src/gateway/index.ts';
import { ConfigError } from '../../src/runtime/config/errors.ts';
import { eventually, ROUTER, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * Virtual keys: stored as hashes or environment references, each mapping to a tenant, a tier, tags,
 * allowed routes and rpm/tpm limits; unknown keys are refused in the provider's own shape; budgets
 * are kept per tenant by the router's ledger.
 */
const TEAM_A = 'sk-team-a-0123456789';
const TEAM_B = 'sk-team-b-9876543210';

const keyed = (gateway: Record<string, unknown>, router: Record<string, unknown> = {}) => ({
  ...ROUTER,
  ...router,
  gateway: {
    keys: [
      { name: 'team-a', hash: `sha256:${sha256Hex(TEAM_A)}`, tenant: 'acme', tier: 'gold', tags: ['web'] },
      { name: 'team-b', key: { env: 'TEAM_B_KEY' }, tenant: 'globex', routes: ['chat'] },
    ],
    ...gateway,
  },
});

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const start = (config: Record<string, unknown>) =>
  startTestGateway({ config, env: { TEAM_B_KEY: TEAM_B } }).then((g) => {
    t = g;
    return g;
  });
const openai = (key: string) => new OpenAI({ baseURL: `${t!.url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = (key: string) => new Anthropic({ baseURL: t!.url, apiKey: key, maxRetries: 0 });
const ask = [{ role: 'user' as const, content: 'Say hello.' }];

describe('virtual keys', () => {
  it('a key stored as a hash and one named by an environment variable both work, for either API', async () => {
    await start(keyed({}));
    const a = await openai(TEAM_A).chat.completions.create({ model: 'chat', messages: ask });
    expect(a.choices[0]!.message.content).toBeTruthy();
    const b = await anthropic(TEAM_B).messages.create({ model: 'chat', max_tokens: 20, messages: ask });
    expect(b.content[0]!.type).toBe('text');
  });

  it.each([false, true])(
    'an unknown or missing key is a 401 in each provider’s shape (stream: %s)',
    async (stream) => {
      await start(keyed({}));
      const o = openai('sk-wrong').chat.completions.create({ model: 'chat', messages: ask, stream });
      await expect(o).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      await expect(o).rejects.toMatchObject({ code: 'invalid_api_key', type: 'authentication_error' });
      const a = anthropic('sk-wrong').messages.create({
        model: 'chat',
        max_tokens: 5,
        messages: ask,
        stream,
      });
      await expect(a).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      await expect(a).rejects.toMatchObject({ error: { error: { type: 'authentication_error' } } });
      const none = await fetch(`${t!.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
      expect(none.status).toBe(401);
      await expect(openai('sk-wrong').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      expect(t!.upstream).toHaveLength(0);
    },
  );

  it('the key’s tenant, tier and tags go with the request; its routes bound what it may call', async () => {
    await start(keyed({}));
    await openai(TEAM_A).chat.completions.create({ model: 'chat', messages: ask });
    await eventually(() => t!.logs.length > 0);
    expect(t!.logs.at(-1)).toMatchObject({ key: 'team-a', tenant: 'acme' });

    await expect(
      openai(TEAM_B).chat.completions.create({ model: 'backup', messages: ask }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const listed = [];
    for await (const m of openai(TEAM_B).models.list()) listed.push(m.id);
    expect(listed).toEqual(['chat']);
  });

  it.each([false, true])(
    'over its rpm limit a key gets a 429 with Retry-After (stream: %s)',
    async (stream) => {
      // Limits are per key: team-a gets two requests a minute.
      const config = keyed({});
      (config.gateway.keys[0] as Record<string, unknown>).limits = { rpm: 2 };
      await start(config);
      for (let i = 0; i < 2; i++)
        for await (const _ of await openai(TEAM_A).chat.completions.create({
          model: 'chat',
          messages: ask,
          stream: true,
        }));
      const error = await openai(TEAM_A)
        .chat.completions.create({ model: 'chat', messages: ask, stream })
        .then(
          () => undefined,
          (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
        );
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error!.code).toBe('rate_limited');
      // One request a 30 s: the next is allowed in at most 30 s.
      expect(Number(error!.headers?.get('retry-after'))).toBeGreaterThan(25);
      expect(Number(error!.headers?.get('retry-after'))).toBeLessThanOrEqual(30);
      // Another key is not affected.
      await openai(TEAM_B).chat.completions.create({ model: 'chat', messages: ask });
    },
  );

  it('over its tpm limit (charged with the tokens actually used) a key gets a 429', async () => {
    const config = keyed({});
    (config.gateway.keys[0] as Record<string, unknown>).limits = { tpm: 40 };
    await start(config);
    const first = await openai(TEAM_A).chat.completions.create({
      model: 'chat',
      messages: ask,
      max_tokens: 60,
    });
    expect(first.usage!.total_tokens).toBeGreaterThan(40);
    await expect(
      anthropic(TEAM_A).messages.create({ model: 'chat', max_tokens: 20, messages: ask }),
    ).rejects.toBeInstanceOf(Anthropic.RateLimitError);
  });

  it.each([false, true])(
    'budgets are kept per tenant by the router’s ledger (stream: %s)',
    async (stream) => {
      await start(keyed({}, { budgets: [{ tenant: 'acme', period: 'day', limitUsd: 0.000001 }] }));
      const refused = openai(TEAM_A).chat.completions.create({ model: 'chat', messages: ask, stream });
      await expect(refused).rejects.toMatchObject({ status: 429, code: 'budget_exceeded' });
      // globex has no budget: served.
      const served = await openai(TEAM_B).chat.completions.create({ model: 'chat', messages: ask, stream });
      expect(served).toBeTruthy();
    },
  );
});

describe('the gateway config', () => {
  it('refuses a key written in clear, a bad hash, an unknown route and an unset variable, each located', () => {
    const text = [
      'deployments:',
      '  - { id: primary, provider: openai, model: gpt-4.1 }',
      'routes:',
      '  - { name: chat, deployments: [primary] }',
      'gateway:',
      '  keys:',
      '    - name: in-clear',
      '      tenant: a',
      '      key: sk-live-secret-value',
      '    - { name: short-hash, tenant: b, hash: "sha256:abc" }',
      '    - { name: wrong-route, tenant: c, hash: "sha256:' + 'a'.repeat(64) + '", routes: [nope] }',
      '    - { name: unset, tenant: d, key: { env: NOT_SET_ANYWHERE } }',
    ].join('\n');
    let error: unknown;
    try {
      parseGatewayConfig(text, 'gw.yaml', { env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.line}:${i.column} ${i.field}`);
    expect(issues).toEqual(['9:12 gateway.keys[0].key', '10:44 gateway.keys[1].hash']);
    expect((error as ConfigError).message).not.toContain('sk-live-secret-value');
    // Cross-checks run once the shapes are right.
    const fixed = text
      .replace('key: sk-live-secret-value', 'key: { env: A_KEY }')
      .replace('"sha256:abc"', `"sha256:${'b'.repeat(64)}"`);
    try {
      parseGatewayConfig(fixed, 'gw.yaml', { env: { A_KEY: 'k' } });
    } catch (e) {
      error = e;
    }
    const rest = (error as ConfigError).issues.map((i) => `${i.line} ${i.field}: ${i.message}`);
    expect(rest).toEqual([
      '11 gateway.keys[2].routes[0]: unknown route or deployment "nope"',
      '12 gateway.keys[3].key: environment variable NOT_SET_ANYWHERE is not set',
    ]);
  });

  it('a non-loopback bind needs virtual keys', async () => {
    const open = parseGatewayConfig(JSON.stringify(ROUTER), 'gw.json', { env: {} });
    await expect(startGateway({ config: open, host: '0.0.0.0', log: false })).rejects.toThrow(
      /without virtual keys/,
    );
  });
});
