import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChaosProxy, startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';

/**
 * Issue 16, items 7–10 over a real socket with the real SDKs: request ids that never repeat, the
 * headers OpenAI puts on errors, one rule format for the admin API, opt-in CORS, and a
 * connection_refused that the client really sees as ECONNREFUSED.
 */
const KEY = 'sk-test-not-a-real-key';
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello' }] };

let proxy: ChaosProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function start(options: Partial<Parameters<typeof startChaosProxy>[0]> = {}): Promise<ChaosProxy> {
  proxy = await startChaosProxy({
    seed: 3,
    mode: 'simulate',
    simulator: { latency: { '*': ZERO_LATENCY } },
    ...options,
  });
  return proxy;
}

const openaiAt = (p: ChaosProxy) => new OpenAI({ apiKey: KEY, baseURL: `${p.url}/v1`, maxRetries: 0 });

async function admin(p: ChaosProxy, method: string, name: string, body?: unknown) {
  const response = await fetch(`${p.url}/__switchyard/${name}`, {
    method,
    headers: {
      authorization: `Bearer ${p.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('request ids never repeat within one proxy', () => {
  it('across resets and rule changes, injected errors get fresh ids, with the headers OpenAI sends', async () => {
    const p = await start();
    const faults = [{ fault: 'server_error', target: { provider: 'openai' } }];
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      expect((await admin(p, 'PUT', 'rules', { faults })).status).toBe(200);
      const error = (await openaiAt(p)
        .chat.completions.create(chat)
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      ids.push(error.requestID!);
      expect(error.headers?.get('openai-version')).toBe('2020-10-01');
      expect(error.headers?.get('openai-processing-ms')).toMatch(/^\d+$/);
      expect((await admin(p, 'POST', 'reset')).status).toBe(200);
    }
    expect(ids.every((id) => /^req_[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('one rule format', () => {
  it('what GET rules answers is accepted by PUT rules as it is, and means the same', async () => {
    const p = await start();
    const faults = [
      {
        id: 'first',
        fault: 'rate_limit',
        target: { provider: 'openai' },
        firstN: 1,
        params: { retryAfterMs: 0 },
      },
      { id: 'window', fault: 'latency', from: '1m', to: '2m', rate: 0.5 },
    ];
    expect((await admin(p, 'PUT', 'rules', { faults })).status).toBe(200);
    const listed = (await admin(p, 'GET', 'rules')).body;
    // Durations come back in ms, defaults filled in.
    expect(listed).toEqual({
      faults: [
        { ...faults[0], enabled: true },
        { id: 'window', fault: 'latency', from: 60_000, to: 120_000, rate: 0.5, enabled: true },
      ],
    });
    expect((await admin(p, 'PUT', 'rules', listed)).body).toEqual(listed);
    await expect(openaiAt(p).chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(openaiAt(p).chat.completions.create(chat)).resolves.toBeDefined();
  });
});

describe('connection_refused is a real refusal', () => {
  it('the official SDKs see ECONNREFUSED, not a closed socket', async () => {
    const p = await start({ rules: [{ fault: 'connection_refused' }] });
    const openaiError = (await openaiAt(p)
      .chat.completions.create(chat)
      .catch((e: unknown) => e)) as Error;
    expect(openaiError).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(causeCode(openaiError)).toBe('ECONNREFUSED');
    const anthropic = new Anthropic({ apiKey: KEY, baseURL: p.url, maxRetries: 0 });
    const anthropicError = (await anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages })
      .catch((e: unknown) => e)) as Error;
    expect(anthropicError).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(causeCode(anthropicError)).toBe('ECONNREFUSED');
  });

  it('half_close stays what it was: the other side closed', async () => {
    const p = await start({ rules: [{ fault: 'half_close' }] });
    const error = (await openaiAt(p)
      .chat.completions.create(chat)
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(causeCode(error)).not.toBe('ECONNREFUSED');
  });
});

/** The socket error code at the bottom of an SDK connection error's cause chain. */
function causeCode(error: unknown): string | undefined {
  let current = error as { cause?: unknown; code?: unknown } | undefined;
  for (let depth = 0; current && depth < 6; depth++) {
    if (typeof current.code === 'string') return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

describe('CORS is opt-in', () => {
  const preflight = (p: ChaosProxy, origin: string) =>
    fetch(`${p.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });

  it('off by default: no allow headers', async () => {
    const p = await start();
    const response = await preflight(p, 'http://app.test');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('on: preflights answered, answers readable (ids and retry hints exposed); a list limits origins', async () => {
    const p = await start({ cors: ['http://app.test'] });
    const ok = await preflight(p, 'http://app.test');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(ok.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
    const other = await preflight(p, 'http://evil.test');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const answer = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        origin: 'http://app.test',
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(chat),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(answer.headers.get('access-control-expose-headers')).toContain('x-request-id');
  });
});
