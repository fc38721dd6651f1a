import * as AnthropicSdk from '@anthropic-ai/sdk';
import * as OpenAISdk from 'openai';
import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { AnthropicAdapter } from '../../src/runtime/providers/anthropic.ts';
import {
  createAdapter,
  normalizeError,
  normalizePayloadError,
  OllamaAdapter,
  OpenAIAdapter,
  parseRetryAfterMs,
  redactSecrets,
} from '../../src/runtime/providers/index.ts';
import { deployment, FAKE_KEY } from './helpers.ts';

const ctx = { provider: 'openai', deployment: 'd1' };

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    [{ 'retry-after-ms': '250' }, 250],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'Retry-After': '2' }, 2000],
    [{ 'retry-after': 'Sun, 01 Mar 2026 12:00:20 GMT' }, 20_000],
    [{ 'retry-after': 'Sun, 01 Mar 2026 11:59:00 GMT' }, 0],
    [{ 'retry-after-ms': 'soon', 'retry-after': '4' }, 4000],
    [{ 'retry-after': 'later' }, undefined],
    [{ 'retry-after': '-5' }, undefined],
    [{}, undefined],
  ])('%o → %s', (headers, expected) => {
    expect(parseRetryAfterMs(headers, now)).toBe(expected);
    expect(parseRetryAfterMs(new Headers(headers), now)).toBe(expected);
  });
});

describe('normalizeError', () => {
  it('SDK connection timeouts (both SDKs) are timeouts in the headers phase', () => {
    for (const error of [
      new OpenAISdk.APIConnectionTimeoutError(),
      new AnthropicSdk.APIConnectionTimeoutError(),
    ]) {
      const normalized = normalizeError(error, ctx);
      expect(normalized.kind).toBe('timeout');
      expect(normalized.timeoutPhase).toBe('headers');
    }
  });

  it('connection errors and raw socket errors are network', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(normalizeError(new OpenAISdk.APIConnectionError({ cause: refused }), ctx).kind).toBe('network');
    expect(
      normalizeError(new AnthropicSdk.APIConnectionError({ message: 'Connection error.' }), ctx).kind,
    ).toBe('network');
    expect(normalizeError(reset, ctx).kind).toBe('network');
    expect(normalizeError(refused, ctx).kind).toBe('network');
  });

  it('undici timeouts keep their phase', () => {
    const connect = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
    });
    const body = new TypeError('terminated', {
      cause: Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }),
    });
    expect(normalizeError(connect, ctx)).toMatchObject({ kind: 'timeout', timeoutPhase: 'connect' });
    expect(normalizeError(body, ctx)).toMatchObject({ kind: 'timeout', timeoutPhase: 'idle' });
  });

  it('a raw SyntaxError is malformed_response', () => {
    expect(normalizeError(new SyntaxError('Unexpected end of JSON input'), ctx).kind).toBe(
      'malformed_response',
    );
  });

  it('an aborted signal with a SwitchyardError reason returns that very error', () => {
    const controller = new AbortController();
    const reason = new SwitchyardError('timeout', { message: 'deadline', timeoutPhase: 'first_token' });
    controller.abort(reason);
    expect(normalizeError(new OpenAISdk.APIUserAbortError(), { ...ctx, signal: controller.signal })).toBe(
      reason,
    );
  });

  it('an aborted signal with another reason is cancelled and not retryable', () => {
    const controller = new AbortController();
    controller.abort();
    const normalized = normalizeError(new DOMException('aborted', 'AbortError'), {
      ...ctx,
      signal: controller.signal,
    });
    expect(normalized).toMatchObject({ kind: 'cancelled', retryable: false, fallbackable: false });
  });

  it('status-less stream errors are classified by type', () => {
    const overloaded = new AnthropicSdk.APIError(
      undefined,
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      undefined,
      new Headers(),
      'overloaded_error',
    );
    expect(normalizeError(overloaded, { provider: 'anthropic' })).toMatchObject({
      kind: 'overloaded',
      status: undefined,
    });
    const rate = new OpenAISdk.APIError(
      undefined,
      { message: 'Rate limit exceeded', type: 'rate_limit_exceeded' },
      undefined,
      new Headers(),
    );
    expect(normalizeError(rate, ctx).kind).toBe('rate_limited');
    expect(
      normalizePayloadError({ message: 'prompt is too long: 300000 tokens' }, { provider: 'ollama' }).kind,
    ).toBe('context_overflow');
  });

  it('is idempotent on SwitchyardErrors', () => {
    const error = new SwitchyardError('auth', { message: 'x' });
    expect(normalizeError(error, ctx)).toBe(error);
  });

  it('redacts keys from messages', () => {
    expect(redactSecrets(`bad key ${FAKE_KEY} and Bearer abc.def`)).toBe(
      'bad key [redacted] and Bearer [redacted]',
    );
    expect(redactSecrets('token=hunter22 here', ['hunter22'])).toBe('token=[redacted] here');
    const error = normalizeError(new Error(`boom with my-secret-value`), {
      ...ctx,
      secrets: ['my-secret-value'],
    });
    expect(error.message).not.toContain('my-secret-value');
  });
});

describe('createAdapter', () => {
  it.each([
    ['openai', OpenAIAdapter],
    ['openai-compatible', OpenAIAdapter],
    ['anthropic', AnthropicAdapter],
    ['ollama', OllamaAdapter],
  ] as const)('%s → %s', (provider, Class) => {
    const adapter = createAdapter(deployment({ provider, model: 'm', baseURL: 'http://127.0.0.1:4010' }), {
      apiKey: FAKE_KEY,
    });
    expect(adapter).toBeInstanceOf(Class);
    expect(adapter.provider).toBe(provider);
    expect(adapter.model).toBe('m');
  });
});
