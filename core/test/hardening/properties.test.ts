/**
 * Property-based hardening: parsers, wire decoding through the real SDK adapters, the error
 * normaliser and retry decisions must turn ANY input into a value or a typed error — never an
 * untyped crash, never a hang. (Backoff delay bounds, the budget ledger and breaker transitions
 * already have properties in core/test/policies and core/test/cost; they are not repeated here.)
 */
import * as AnthropicSdk from '@anthropic-ai/sdk';
import fc from 'fast-check';
import * as OpenAISdk from 'openai';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/runtime/config/errors.ts';
import { parseRouterConfig } from '../../src/runtime/config/load.ts';
import type { DeploymentConfig, RetryConfig } from '../../src/runtime/config/schema.ts';
import { ERROR_KINDS, type ErrorKind, isSwitchyardError, SwitchyardError } from '../../src/runtime/errors.ts';
import { retryDelayMs } from '../../src/runtime/policies/backoff.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import { normalizeError } from '../../src/runtime/providers/normalize-error.ts';
import type { ProviderStreamEvent } from '../../src/runtime/types.ts';
import { parseScenario, ScenarioError } from '../../src/scenarios/load.ts';

const KINDS = new Set<string>(ERROR_KINDS);

function expectTypedError(error: unknown): asserts error is SwitchyardError {
  expect(isSwitchyardError(error), `not a SwitchyardError: ${String(error)}`).toBe(true);
  const e = error as SwitchyardError;
  expect(KINDS.has(e.kind), `invalid kind ${e.kind}`).toBe(true);
  expect(typeof e.message).toBe('string');
  expect(typeof e.retryable).toBe('boolean');
  expect(typeof e.fallbackable).toBe('boolean');
  // Serialisable for traces and journals.
  expect(() => JSON.stringify(e.toJSON())).not.toThrow();
}

// -------------------------------------------------------------------------------------------------
// Parsers

/** YAML-ish text: random text, JSON of random values, and near-valid configs with random leaves. */
const yamlText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(...': -\n\t[]{}#&*!|>\'"%@`,?0aZ'.split('')), maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      provider: fc.oneof(fc.constantFrom('openai', 'anthropic', 'ollama', 'openai-compatible'), fc.string()),
      model: fc.oneof(fc.string(), fc.constant('gpt-4.1')),
      baseURL: fc.oneof(fc.webUrl(), fc.string()),
      extra: fc.jsonValue({ maxDepth: 2 }),
      policies: fc.jsonValue({ maxDepth: 3 }),
      routes: fc.jsonValue({ maxDepth: 3 }),
    })
    .map(({ id, provider, model, baseURL, extra, policies, routes }) =>
      JSON.stringify({
        deployments: [{ id, provider, model, baseURL }],
        policies,
        routes,
        ...(extra ? {} : {}),
      }),
    ),
);

describe('config and scenario parsers, property', () => {
  it('parseRouterConfig: any text is a config or a ConfigError that names the file', () => {
    fc.assert(
      fc.property(yamlText, (text) => {
        try {
          const config = parseRouterConfig(text, 'prop.yaml');
          expect(config.deployments.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error, String(error)).toBeInstanceOf(ConfigError);
          const issues = (error as ConfigError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) {
            expect(issue.file).toBe('prop.yaml');
            expect(issue.line).toBeGreaterThanOrEqual(1);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('parseScenario: any text is a scenario or a ScenarioError (files it names cannot be read)', async () => {
    const noFiles = async (path: string): Promise<string> => {
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    };
    const scenarioText = fc.oneof(
      yamlText,
      fc
        .record({
          name: fc.string(),
          seed: fc.oneof(fc.integer(), fc.string()),
          load: fc.jsonValue({ maxDepth: 2 }),
          faults: fc.array(
            fc.record({
              fault: fc.oneof(fc.constantFrom('rate_limit', 'stream_cut', 'no_such_fault'), fc.string()),
              rate: fc.oneof(fc.double(), fc.integer()),
              params: fc.jsonValue({ maxDepth: 2 }),
            }),
            { maxLength: 3 },
          ),
          hypotheses: fc.jsonValue({ maxDepth: 2 }),
          router: fc.oneof(fc.record({ path: fc.string() }), fc.jsonValue({ maxDepth: 2 })),
        })
        .map((s) => JSON.stringify(s)),
    );
    await fc.assert(
      fc.asyncProperty(scenarioText, async (text) => {
        try {
          await parseScenario(text, 'prop.scenario.yaml', { readFile: noFiles });
        } catch (error) {
          // ScenarioError extends ConfigError; both are the typed outcomes.
          expect(error instanceof ScenarioError || error instanceof ConfigError, String(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
// Streams: arbitrary and garbled bytes through the real SDK adapters

const enc = new TextEncoder();

function deploymentOf(provider: 'openai' | 'anthropic' | 'ollama'): DeploymentConfig {
  return {
    id: `${provider}/prop`,
    provider,
    model:
      provider === 'ollama' ? 'llama3.2:latest' : provider === 'openai' ? 'gpt-4.1' : 'claude-sonnet-4-6',
    baseURL: provider === 'openai' ? 'http://127.0.0.1:4011/v1' : 'http://127.0.0.1:4011',
    weight: 1,
    tags: [],
  } as DeploymentConfig;
}

/** Plausible events of each wire format, so generated streams get deep into the decoders. */
const openaiChunk = fc.oneof(
  fc.record({
    id: fc.string(),
    object: fc.constant('chat.completion.chunk'),
    model: fc.string(),
    choices: fc.array(
      fc.record({
        index: fc.nat(2),
        delta: fc.record(
          {
            role: fc.constant('assistant'),
            content: fc.oneof(fc.string(), fc.constant(null)),
            tool_calls: fc.array(
              fc.record({
                index: fc.nat(2),
                id: fc.string(),
                function: fc.record({ name: fc.string(), arguments: fc.string() }, { requiredKeys: [] }),
              }),
              { maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
        finish_reason: fc.oneof(
          fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter', null),
          fc.string(),
        ),
      }),
      { maxLength: 2 },
    ),
    usage: fc.option(fc.record({ prompt_tokens: fc.integer(), completion_tokens: fc.integer() })),
  }),
  fc.record({ error: fc.record({ message: fc.string(), type: fc.string() }) }),
);
const anthropicEvent = fc.oneof(
  fc.record({
    type: fc.constant('message_start'),
    message: fc.record({
      id: fc.string(),
      type: fc.constant('message'),
      role: fc.constant('assistant'),
      model: fc.string(),
      content: fc.constant([]),
      stop_reason: fc.constant(null),
      usage: fc.record({ input_tokens: fc.integer(), output_tokens: fc.integer() }),
    }),
  }),
  fc.record({
    type: fc.constant('content_block_start'),
    index: fc.nat(2),
    content_block: fc.oneof(
      fc.record({ type: fc.constant('text'), text: fc.string() }),
      fc.record({
        type: fc.constant('tool_use'),
        id: fc.string(),
        name: fc.string(),
        input: fc.constant({}),
      }),
    ),
  }),
  fc.record({
    type: fc.constant('content_block_delta'),
    index: fc.nat(2),
    delta: fc.oneof(
      fc.record({ type: fc.constant('text_delta'), text: fc.string() }),
      fc.record({ type: fc.constant('input_json_delta'), partial_json: fc.string() }),
    ),
  }),
  fc.record({ type: fc.constant('content_block_stop'), index: fc.nat(2) }),
  fc.record({
    type: fc.constant('message_delta'),
    delta: fc.record({
      stop_reason: fc.oneof(fc.constantFrom('end_turn', 'max_tokens', 'tool_use'), fc.string()),
    }),
    usage: fc.record({ output_tokens: fc.integer() }),
  }),
  fc.constant({ type: 'message_stop' }),
  fc.record({ type: fc.constant('error'), error: fc.record({ type: fc.string(), message: fc.string() }) }),
);
const ollamaLine = fc.oneof(
  fc.record({
    model: fc.string(),
    created_at: fc.constant('2026-01-01T00:00:00Z'),
    message: fc.record({ role: fc.constant('assistant'), content: fc.string() }),
    done: fc.boolean(),
    done_reason: fc.option(fc.constantFrom('stop', 'length', 'load')),
    prompt_eval_count: fc.option(fc.integer()),
    eval_count: fc.option(fc.integer()),
  }),
  fc.record({ error: fc.string() }),
);

/** A frame of the provider's stream format: well-formed, garbled, or plain noise. */
function frames(provider: 'openai' | 'anthropic' | 'ollama') {
  const event = provider === 'openai' ? openaiChunk : provider === 'anthropic' ? anthropicEvent : ollamaLine;
  const noise = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    event.map((e) => JSON.stringify(e).slice(0, -3)),
  );
  if (provider === 'ollama') {
    return fc.oneof(
      { weight: 4, arbitrary: event.map((e) => `${JSON.stringify(e)}\n`) },
      noise.map((n) => `${n}\n`),
      noise,
    );
  }
  const named = (e: unknown) =>
    provider === 'anthropic'
      ? `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`
      : `data: ${JSON.stringify(e)}\n\n`;
  return fc.oneof(
    { weight: 4, arbitrary: event.map(named) },
    fc.constant('data: [DONE]\n\n'),
    fc.constant(': keep-alive\n\n'),
    noise.map((n) => `data: ${n}\n\n`),
    noise.map((n) => `event: ${n}\n`),
    noise,
  );
}

/** A body: frames (or raw bytes) cut into chunks at arbitrary byte offsets (mid-UTF-8 included). */
function body(provider: 'openai' | 'anthropic' | 'ollama') {
  const text = fc.array(frames(provider), { maxLength: 12 }).map((f) => enc.encode(f.join('')));
  return fc
    .tuple(
      fc.oneof({ weight: 5, arbitrary: text }, fc.uint8Array({ maxLength: 300 })),
      fc.array(fc.nat(), { maxLength: 6 }),
    )
    .map(([bytes, cuts]) => {
      const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
        (a, b) => a - b,
      );
      const chunks: Uint8Array[] = [];
      let last = 0;
      for (const p of [...points, bytes.length]) {
        if (p > last) chunks.push(bytes.slice(last, p));
        last = Math.max(last, p);
      }
      return chunks;
    });
}

const CONTENT_TYPE = {
  openai: 'text/event-stream',
  anthropic: 'text/event-stream',
  ollama: 'application/x-ndjson',
} as const;

/** A fetch stand-in that answers every call with `status` and the given chunks. */
function bytesFetch(status: number, chunks: Uint8Array[], contentType: string): typeof fetch {
  return (async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of chunks) controller.enqueue(c);
          controller.close();
        },
      }),
      { status, headers: { 'content-type': contentType } },
    )) as unknown as typeof fetch;
}

/** Runs `work` and fails if it neither settles nor throws within `ms` (a hang). */
async function settlesWithin<T>(
  ms: number,
  work: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: no outcome within ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([work(), hang]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('HANG')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

const request = {
  model: 'x',
  messages: [{ role: 'user' as const, content: 'hello' }],
  maxOutputTokens: 16,
};

describe('SSE and NDJSON decoding through the real SDK adapters, property', () => {
  for (const provider of ['openai', 'anthropic', 'ollama'] as const) {
    it(`${provider}: a garbled stream ends in events + finish, or a typed SwitchyardError, never a hang`, async () => {
      await fc.assert(
        fc.asyncProperty(
          body(provider),
          fc.constantFrom(200, 200, 200, 400, 429, 500, 529),
          async (chunks, status) => {
            const adapter = createAdapter(deploymentOf(provider), {
              apiKey: 'sk-prop-not-a-real-key',
              fetch: bytesFetch(status, chunks, CONTENT_TYPE[provider]),
            });
            const outcome = await settlesWithin(5_000, async () => {
              const events: ProviderStreamEvent[] = [];
              for await (const event of adapter.stream(request, { signal: new AbortController().signal })) {
                events.push(event);
              }
              return events;
            });
            if (!outcome.ok) {
              expectTypedError(outcome.error);
              return;
            }
            // A stream the adapter accepted must have ended with its finish event.
            expect(outcome.value.at(-1)?.type).toBe('finish');
          },
        ),
        { numRuns: 150 },
      );
    });

    it(`${provider}: any non-streamed body is a result or a typed SwitchyardError`, async () => {
      const jsonBody = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }).map((v) => enc.encode(JSON.stringify(v))),
        fc.uint8Array({ maxLength: 200 }),
        fc.string().map((s) => enc.encode(s)),
      );
      await fc.assert(
        fc.asyncProperty(jsonBody, fc.integer({ min: 200, max: 599 }), async (bytes, status) => {
          const adapter = createAdapter(deploymentOf(provider), {
            apiKey: 'sk-prop-not-a-real-key',
            fetch: bytesFetch(status, [bytes], 'application/json'),
          });
          const outcome = await settlesWithin(5_000, () =>
            adapter.complete(request, { signal: new AbortController().signal }),
          );
          if (!outcome.ok) expectTypedError(outcome.error);
          else expect(typeof outcome.value.text).toBe('string');
        }),
        { numRuns: 150 },
      );
    });
  }
});

// -------------------------------------------------------------------------------------------------
// The error normaliser

const headersArb = fc
  .dictionary(
    fc.constantFrom(
      'retry-after',
      'retry-after-ms',
      'x-should-retry',
      'x-request-id',
      'request-id',
      'content-type',
    ),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer().map(String),
      fc.constantFrom('true', 'false', '1.5', '-3'),
    ),
  )
  .map((d) => new Headers(d));

describe('normalizeError, property', () => {
  it('any thrown value becomes a SwitchyardError with a valid kind', () => {
    const thrown = fc.oneof(
      fc.anything(),
      fc.string().map((m) => new Error(m)),
      fc.string().map((m) => new TypeError(m)),
      fc.string().map((m) => new SyntaxError(m)),
      fc
        .record({
          code: fc.oneof(fc.constantFrom('ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'EPIPE'), fc.string()),
          name: fc.string(),
        })
        .map(({ code, name }) =>
          Object.assign(
            new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code, name }) }),
          ),
        ),
      fc.record({
        status: fc.anything(),
        message: fc.anything(),
        error: fc.anything(),
        headers: fc.anything(),
      }),
    );
    fc.assert(
      fc.property(
        thrown,
        fc.constantFrom('openai', 'anthropic', 'ollama', 'openai-compatible'),
        (value, provider) => {
          expectTypedError(normalizeError(value, { provider, deployment: 'd' }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any status + body + headers from either SDK becomes a SwitchyardError with a valid kind', () => {
    const bodyArb = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        error: fc.record(
          {
            message: fc.oneof(
              fc.string(),
              fc.constantFrom(
                "This model's maximum context length is 8192 tokens",
                "Unsupported parameter: 'max_tokens'",
              ),
            ),
            type: fc.oneof(
              fc.string(),
              fc.constantFrom(
                'invalid_request_error',
                'rate_limit_error',
                'overloaded_error',
                'authentication_error',
              ),
            ),
            code: fc.oneof(
              fc.string(),
              fc.constant(null),
              fc.constantFrom('context_length_exceeded', 'insufficient_quota'),
            ),
            param: fc.oneof(fc.string(), fc.constant(null)),
          },
          { requiredKeys: [] },
        ),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        bodyArb,
        headersArb,
        fc.constantFrom('openai', 'anthropic'),
        fc.string({ maxLength: 60 }),
        (status, body, headers, sdk, message) => {
          const error =
            sdk === 'openai'
              ? OpenAISdk.APIError.generate(status, body as object, message, headers)
              : AnthropicSdk.APIError.generate(status, body as object, message, headers);
          const normalized = normalizeError(error, {
            provider: sdk,
            deployment: 'd',
            response: { status, headers },
          });
          expectTypedError(normalized);
          if (status >= 400) expect(normalized.status).toBe(status);
          if (normalized.retryAfterMs !== undefined)
            expect(normalized.retryAfterMs).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
// Retry decisions (backoffDelayMs bounds are in core/test/policies/backoff.test.ts)

describe('retryDelayMs, property', () => {
  it('never allows more than maxAttempts attempts; every delay is within its cap', () => {
    const errorArb = fc
      .record({
        kind: fc.constantFrom(...ERROR_KINDS),
        retryAfterMs: fc.option(
          fc.oneof(
            fc.integer({ min: -1_000, max: 120_000 }),
            fc.constant(Number.POSITIVE_INFINITY),
            fc.constant(Number.NaN),
          ),
        ),
        retryable: fc.option(fc.boolean()),
      })
      .map(
        ({ kind, retryAfterMs, retryable }) =>
          new SwitchyardError(kind as ErrorKind, {
            message: 'p',
            ...(retryAfterMs !== null ? { retryAfterMs } : {}),
            ...(retryable !== null ? { retryable } : {}),
          }),
      );
    const configArb = fc.record({
      maxAttempts: fc.integer({ min: 1, max: 20 }),
      baseDelayMs: fc.integer({ min: 0, max: 10_000 }),
      maxDelayMs: fc.integer({ min: 0, max: 60_000 }),
      jitter: fc.constantFrom('full' as const, 'none' as const),
      retryAfterCapMs: fc.integer({ min: 0, max: 60_000 }),
      retryOn: fc.option(fc.subarray([...ERROR_KINDS])),
    });
    fc.assert(
      fc.property(
        configArb,
        fc.array(errorArb, { minLength: 25, maxLength: 25 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (raw, errors, r) => {
          const config = { ...raw, retryOn: raw.retryOn ?? undefined } as RetryConfig;
          let attempts = 1;
          for (const error of errors) {
            const decision = retryDelayMs(error, attempts, config, () => r);
            if (decision.action !== 'retry') break;
            attempts++;
            expect(Number.isFinite(decision.delayMs)).toBe(true);
            expect(decision.delayMs).toBeGreaterThanOrEqual(0);
            if (decision.reason === 'retry-after')
              expect(decision.delayMs).toBeLessThanOrEqual(config.retryAfterCapMs);
            else expect(decision.delayMs).toBeLessThanOrEqual(config.maxDelayMs);
          }
          expect(attempts).toBeLessThanOrEqual(config.maxAttempts);
        },
      ),
      { numRuns: 500 },
    );
  });
});
