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

describe('normalizeError recognises SDK errors by shape, not class identity', () => {
  // Classes named and shaped as the SDKs' own, but not them: as from a second copy of an SDK, or
  // from an SDK the normaliser never loaded (SDKs are loaded lazily, core/src/lazy.ts).
  class APIError extends Error {
    readonly status: number | undefined;
    readonly error: unknown;
    readonly headers: Headers | undefined;
    readonly requestID: string | null;
    /** Only openai's errors carry `param`. */
    declare readonly param?: string | null;
    constructor(
      status: number | undefined,
      error: unknown,
      message: string,
      headers?: Headers,
      param?: null,
    ) {
      super(message);
      this.status = status;
      this.error = error;
      this.headers = headers;
      this.requestID = headers?.get('x-request-id') ?? null;
      if (param !== undefined) Object.assign(this, { param });
    }
  }
  class RateLimitError extends APIError {}
  class APIConnectionError extends APIError {
    constructor(cause: unknown) {
      super(undefined, undefined, 'Connection error.');
      this.cause = cause;
    }
  }
  class APIConnectionTimeoutError extends APIConnectionError {}
  class APIUserAbortError extends APIError {}

  it('an openai-shaped 429 (with param) keeps its code and Retry-After', () => {
    const error = new RateLimitError(
      429,
      { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null },
      '429 Rate limit reached',
      new Headers({ 'retry-after': '2', 'x-request-id': 'req_1' }),
      null,
    );
    const normalized = normalizeError(error, { ...ctx, nowMs: 0 });
    expect(normalized).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2000,
      code: 'rate_limit_exceeded',
    });
    expect(normalized.message).toBe('openai: Rate limit reached');
  });

  it('an Anthropic-shaped body (the whole body in .error, no param) is read from its inner error', () => {
    const error = new APIError(
      400,
      {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'prompt is too long: 300000 tokens' },
      },
      '400 prompt is too long',
      new Headers(),
    );
    expect(normalizeError(error, { provider: 'anthropic' })).toMatchObject({
      kind: 'context_overflow',
      code: 'invalid_request_error',
    });
  });

  it('connection, timeout and abort subclasses are told apart by their class names', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(normalizeError(new APIConnectionError(reset), ctx).kind).toBe('network');
    expect(normalizeError(new APIConnectionTimeoutError(reset), ctx)).toMatchObject({
      kind: 'timeout',
      timeoutPhase: 'headers',
    });
    expect(normalizeError(new APIUserAbortError(undefined, undefined, 'aborted', undefined), ctx).kind).toBe(
      'cancelled',
    );
  });

  it('an Error that merely has a status field is not taken for an SDK error', () => {
    const error = Object.assign(new Error('boom'), { status: 429, headers: new Headers(), error: {} });
    expect(normalizeError(error, ctx).kind).toBe('server_error');
  });
});

describe('normalizeError in a minified bundle, where class names are mangled', () => {
  /** Every error class both SDKs export, renamed as a minifier would, for the duration of `run`. */
  function withMangledNames(run: () => void): void {
    const classes = ([...Object.values(OpenAISdk), ...Object.values(AnthropicSdk)] as unknown[]).filter(
      (value): value is new (...args: never[]) => Error =>
        typeof value === 'function' && value.prototype instanceof Error,
    );
    const names = classes.map((c) => c.name);
    try {
      classes.forEach((c, i) => {
        Object.defineProperty(c, 'name', { value: `e${i}`, configurable: true });
      });
      run();
    } finally {
      classes.forEach((c, i) => {
        Object.defineProperty(c, 'name', { value: names[i], configurable: true });
      });
    }
  }

  it("recognises the errors of the SDKs it loaded by instanceof (openai's and Anthropic's)", () => {
    // Building a deployment of each provider loads its SDK (core/src/lazy.ts).
    createAdapter(deployment({ provider: 'openai', model: 'gpt-4.1' }), { apiKey: FAKE_KEY });
    createAdapter(deployment({ provider: 'anthropic', model: 'claude-sonnet-4-6' }), { apiKey: FAKE_KEY });
    withMangledNames(() => {
      expect(OpenAISdk.RateLimitError.name).not.toBe('RateLimitError');
      const limited = OpenAISdk.APIError.generate(
        429,
        { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
        'Rate limit reached',
        new Headers({ 'retry-after': '2' }),
      );
      expect(normalizeError(limited, { ...ctx, nowMs: 0 })).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 2000,
      });
      expect(normalizeError(new OpenAISdk.APIConnectionTimeoutError(), ctx)).toMatchObject({
        kind: 'timeout',
        timeoutPhase: 'headers',
      });
      const overloaded = AnthropicSdk.APIError.generate(
        529,
        { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
        'Overloaded',
        new Headers(),
      );
      expect(normalizeError(overloaded, { provider: 'anthropic' })).toMatchObject({
        kind: 'overloaded',
        code: 'overloaded_error',
      });
      expect(normalizeError(new AnthropicSdk.APIUserAbortError(), { provider: 'anthropic' }).kind).toBe(
        'cancelled',
      );
    });
  });
});
