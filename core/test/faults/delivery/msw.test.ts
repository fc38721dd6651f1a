import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ChaosMsw, withChaos } from '../../../src/faults/delivery/msw.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';
import { KEY } from '../chaos/helpers.ts';

// The SDKs' own retries are off: every attempt must be visible to (and counted by) the caller.
const lazyFetch = (...args: Parameters<typeof fetch>) => globalThis.fetch(...args);
const openai = () => new OpenAI({ apiKey: KEY, maxRetries: 0, fetch: lazyFetch });
const anthropic = () => new Anthropic({ apiKey: KEY, maxRetries: 0, fetch: lazyFetch });
const ollama = () => new Ollama({ host: 'http://127.0.0.1:11434', fetch: lazyFetch });

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello' }] };
const message = {
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

let env: ChaosMsw;
beforeAll(() => {
  // Default origins are the official ones: SDKs with default base URLs are intercepted, nothing leaves.
  env = withChaos({ seed: 11, simulator: { latency: { '*': ZERO_LATENCY } } });
});
afterEach(() => {
  env.setRules([]);
  env.reset();
});
afterAll(() => env.close());

describe('MSW delivery: the real SDKs see the injected failures', () => {
  it('passes clean traffic through to the simulator', async () => {
    const completion = await openai().chat.completions.create(chat);
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(env.counters()).toMatchObject({ requests: { total: 1 }, injected: { total: 0 } });
  });

  it('openai: RateLimitError whose headers carry the delay the router should wait', async () => {
    env.setRules([{ fault: 'rate_limit', params: { retryAfterMs: 1500 } }]);
    const error = await openai()
      .chat.completions.create(chat)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get('retry-after-ms')).toBe('1500');
    expect(rateLimit.headers.get('retry-after')).toBe('2');
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.type).toBe('requests');
  });

  it('anthropic: 529 becomes an InternalServerError subclass (OverloadedError) with status 529', async () => {
    env.setRules([{ fault: 'overloaded' }]);
    const error = await anthropic()
      .messages.create(message)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as { constructor: { name: string } }).constructor.name).toBe('OverloadedError');
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((error as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/^req_011C/);
  });

  it('openai: a cut stream ends silently in the SDK (no [DONE], no error), with partial text', async () => {
    env.setRules([{ fault: 'stream_cut', params: { afterChunks: 3 } }]);
    const stream = await openai().chat.completions.create({ ...chat, stream: true });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBeUndefined(); // the only sign anything went wrong
  });

  it('anthropic: a cut stream makes finalMessage() throw', async () => {
    env.setRules([{ fault: 'stream_cut', params: { afterChunks: 5 } }]);
    const stream = anthropic().messages.stream(message);
    await expect(stream.finalMessage()).rejects.toThrow(/stream ended without producing a Message/);
  });

  it('ollama: HTTP errors are ResponseError with status_code', async () => {
    env.setRules([{ fault: 'overloaded' }]);
    const error = await ollama()
      .chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hello' }] })
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ResponseError');
    expect((error as { status_code: number }).status_code).toBe(503);
    expect((error as Error).message).toMatch(/^server busy/);
  });

  it('ollama: a stream cut before done:true throws; a garbled line is skipped silently', async () => {
    env.setRules([{ fault: 'stream_cut', params: { afterChunks: 2 } }]);
    const cut = await ollama().chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _part of cut) {
          // drain
        }
      })(),
    ).rejects.toThrow('Did not receive done or success response in stream.');

    env.setRules([{ fault: 'malformed_ndjson', params: { atChunk: 1 } }]);
    // ollama-js only console.warns about the bad line and carries on.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const garbled = await ollama().chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    let parts = 0;
    let done = false;
    for await (const part of garbled) {
      parts++;
      done ||= part.done;
    }
    expect(done).toBe(true);
    expect(parts).toBeGreaterThan(1);
    expect(warn).toHaveBeenCalledWith('invalid json: ', expect.any(String));
    warn.mockRestore();
  });

  it('openai: an error event inside a 200 stream becomes an APIError without status', async () => {
    env.setRules([{ fault: 'stream_error_event' }]);
    const stream = await openai().chat.completions.create({ ...chat, stream: true });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeUndefined();
  });

  it('connection_reset in-process: the SDK reports APIConnectionError', async () => {
    env.setRules([{ fault: 'connection_reset' }]);
    await expect(openai().chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await expect(anthropic().messages.create(message)).rejects.toBeInstanceOf(Anthropic.APIConnectionError);
  });

  it('no_response in-process: the SDK timeout fires and nothing is left hanging', async () => {
    env.setRules([{ fault: 'no_response' }]);
    const client = new OpenAI({ apiKey: KEY, maxRetries: 0, timeout: 200, fetch: lazyFetch });
    await expect(client.chat.completions.create(chat)).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
  });

  it('scoped() applies rules for one block only', async () => {
    await env.scoped([{ fault: 'invalid_api_key' }], async () => {
      await expect(openai().chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });
    await expect(openai().chat.completions.create(chat)).resolves.toBeDefined();
    expect(env.counters().injected.byFault).toEqual({ invalid_api_key: 1 });
  });
});
