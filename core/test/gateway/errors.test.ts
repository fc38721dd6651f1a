import { request } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { post, ROUTER, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * Errors in the calling API's own shape and status, streamed and not: a malformed request is a
 * 400 (never a crash), an exhausted chain answers with the last error's kind and its Retry-After,
 * a budget refusal is a 429 with its reason, a failure after the first token ends the stream with
 * the API's own error event.
 */
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const clients = (url: string) => ({
  openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }),
  anthropic: new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 }),
});

const ask = [{ role: 'user' as const, content: 'Say hello.' }];

describe('malformed requests get a 400 in the API’s own shape', () => {
  it.each([false, true])(
    'OpenAI (stream: %s): bad JSON, a missing field, an unsupported part',
    async (stream) => {
      t = await startTestGateway();
      const chat = `${t.url}/v1/chat/completions`;
      const badJson = await post(chat, '{"model": "chat", "messages": [');
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_json' },
      });

      const missing = await post(chat, { model: 'chat', stream });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({
        error: { type: 'invalid_request_error', code: 'bad_request', param: 'messages' },
      });

      const image = await post(chat, {
        model: 'chat',
        stream,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }],
      });
      expect(image.status).toBe(400);
      expect(((await image.json()) as { error: { message: string } }).error.message).toMatch(
        /only text content/,
      );

      // The server is still there and answers the next request.
      const ok = await post(chat, { model: 'chat', stream, messages: ask });
      expect(ok.status).toBe(200);
      await ok.text();
    },
  );

  it.each([false, true])('Anthropic (stream: %s): the SDK raises BadRequestError', async (stream) => {
    t = await startTestGateway();
    const { anthropic } = clients(t.url);
    const call = anthropic.messages.create({
      model: 'chat',
      stream,
      messages: ask,
    } as unknown as Anthropic.MessageCreateParamsNonStreaming);
    await expect(call).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(call).rejects.toMatchObject({
      error: { type: 'error', error: { type: 'invalid_request_error' } },
    });
    await expect(call).rejects.toThrow(/max_tokens/);
  });

  it('an unknown model is a 404, not the default route', async () => {
    t = await startTestGateway();
    const { openai, anthropic } = clients(t.url);
    await expect(openai.chat.completions.create({ model: 'gpt-9', messages: ask })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(
      anthropic.messages.create({ model: 'gpt-9', max_tokens: 5, messages: ask }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    expect(t.upstream).toHaveLength(0);
  });

  it('a body over the limit is a 413', async () => {
    t = await startTestGateway({ config: { ...ROUTER, gateway: { maxBodyBytes: 1_000 } } });
    const big = await post(`${t.url}/v1/chat/completions`, {
      model: 'chat',
      messages: [{ role: 'user', content: 'x'.repeat(5_000) }],
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'request_too_large' } });
    // Chunked, with no content-length to refuse it by: counted as it arrives.
    const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'y'.repeat(5_000) }] });
    const chunked = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // A declared length over the limit is refused at once, before a byte of the body is read.
    const declared = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${t!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': 50_000_000 },
      });
      req.on('response', (res) => resolve(res.statusCode)).on('error', reject);
      req.write('{"model":');
    });
    expect(declared).toBe(413);
    expect(t.upstream).toHaveLength(0);
  });
});

describe('when every deployment failed, the answer carries the last error', () => {
  const rateLimitedEverywhere = [{ fault: 'rate_limit' as const, params: { retryAfterMs: 20_000 } }];

  it.each([false, true])('OpenAI (stream: %s): 429 rate_limited with Retry-After', async (stream) => {
    t = await startTestGateway({ rules: rateLimitedEverywhere });
    const { openai } = clients(t.url);
    const error = await openai.chat.completions.create({ model: 'chat', messages: ask, stream }).then(
      () => undefined,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error!.code).toBe('rate_limited');
    expect(error!.headers?.get('retry-after')).toBe('20');
    expect(error!.headers?.get('x-switchyard-attempts')).toBe('2');
    expect(error!.headers?.get('x-switchyard-fallbacks')).toBe('1');
    expect(error!.headers?.get('x-switchyard-served-by')).toBe('none');
  });

  it.each([false, true])('Anthropic (stream: %s): a RateLimitError in Anthropic’s shape', async (stream) => {
    t = await startTestGateway({ rules: rateLimitedEverywhere });
    const { anthropic } = clients(t.url);
    const error = await anthropic.messages
      .create({ model: 'chat', max_tokens: 20, messages: ask, stream })
      .then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error!.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(error!.headers?.get('retry-after')).toBe('20');
  });

  it('a server error everywhere is a 502 (the upstream failed, not the caller)', async () => {
    t = await startTestGateway({ rules: [{ fault: 'server_error' }] });
    const { openai } = clients(t.url);
    await expect(openai.chat.completions.create({ model: 'chat', messages: ask })).rejects.toMatchObject({
      status: 502,
      code: 'server_error',
    });
  });
});

describe('a budget refusal is a 429 with its reason', () => {
  const broke = { ...ROUTER, budgets: [{ tenant: '*', period: 'day', limitUsd: 0.000001 }] };

  it.each([false, true])('OpenAI (stream: %s)', async (stream) => {
    t = await startTestGateway({ config: broke });
    const { openai } = clients(t.url);
    const error = await openai.chat.completions.create({ model: 'chat', messages: ask, stream }).then(
      () => undefined,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error!.code).toBe('budget_exceeded');
    expect(error!.message).toMatch(/budget/i);
    expect(t.upstream).toHaveLength(0);
    // With no virtual keys the router's tenant is 'default': its budget shows in /metrics.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_gateway_budget_remaining_usd\{tenant="default",budget="\*\/day",period="day"\} /,
    );
  });

  it('Anthropic', async () => {
    t = await startTestGateway({ config: broke });
    const { anthropic } = clients(t.url);
    await expect(anthropic.messages.create({ model: 'chat', max_tokens: 20, messages: ask })).rejects.toThrow(
      /budget/i,
    );
  });
});

describe('a failure after the first token ends the stream with the API’s error event', () => {
  const cut = [{ fault: 'stream_error_event' as const, params: { afterChunks: 3 } }];

  it('OpenAI: the SDK raises the error mid-iteration, after the text it got', async () => {
    t = await startTestGateway({ rules: cut });
    const { openai } = clients(t.url);
    let text = '';
    const iterate = async () => {
      for await (const chunk of await openai.chat.completions.create({
        model: 'chat',
        messages: ask,
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(iterate()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
  });

  it('Anthropic: an `error` event, which the SDK raises', async () => {
    t = await startTestGateway({ rules: cut });
    const { anthropic } = clients(t.url);
    const stream = anthropic.messages.stream({ model: 'chat', max_tokens: 50, messages: ask });
    await expect(stream.finalMessage()).rejects.toThrow(/overloaded|server|error/i);
  });
});
