import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { record } from '../../../src/faults/delivery/record-replay.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';

/**
 * record-replay.test.ts already shows a recorded OpenAI JSON + stream, an Anthropic stream and a 401
 * body carry no trace of the key. This adds what it leaves out: the x-api-key header (Anthropic 0.x
 * style), a bearer token sent to Ollama, error bodies of other kinds (429 with its headers, an
 * in-stream error event), and the *masked* key OpenAI echoes in its 401 (`sk-…` + last four), which
 * is still key material.
 */
const CANARY = 'sk-test-CANARY-b5e1d9047c3a6f28';
const TAIL = CANARY.slice(-4);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cassette-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cassettes hold no key material (headers, error bodies, streams)', () => {
  it('x-api-key, bearer to Ollama, a masked key in a 401, a 429 and an in-stream error', async () => {
    const proxy = await startChaosProxy({
      seed: 5,
      mode: 'simulate',
      simulator: { latency: { '*': ZERO_LATENCY } },
      rules: [
        { fault: 'invalid_api_key', target: { model: 'gpt-4.1' } },
        { fault: 'rate_limit', target: { model: 'gpt-4o' } },
        { fault: 'stream_error_event', params: { afterChunks: 3 }, target: { provider: 'anthropic' } },
      ],
    });
    const outFile = join(dir, 'cassette.json');
    const recording = await record({ outFile, secrets: [CANARY] });
    const statuses: Array<number | string> = [];
    try {
      const openai = new OpenAI({ apiKey: CANARY, baseURL: `${proxy.url}/v1`, maxRetries: 0 });
      const refused = await openai.chat.completions
        .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hi' }] })
        .catch((error: InstanceType<typeof OpenAI.APIError>) => error);
      // What OpenAI really does: it echoes the key masked, keeping its last four characters.
      expect((refused as InstanceType<typeof OpenAI.APIError>).message).toContain(TAIL);
      statuses.push((refused as InstanceType<typeof OpenAI.APIError>).status ?? 'none');
      const limited = await openai.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
        .catch((error: InstanceType<typeof OpenAI.APIError>) => error);
      statuses.push((limited as InstanceType<typeof OpenAI.APIError>).status ?? 'none');

      const anthropic = new Anthropic({
        apiKey: CANARY,
        baseURL: proxy.url,
        maxRetries: 0,
        defaultHeaders: { authorization: null, 'x-api-key': CANARY },
      });
      const streamFailure = await anthropic.messages
        .stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
        .finalMessage()
        .catch((error: Error) => error);
      expect(streamFailure).toBeInstanceOf(Anthropic.APIError);
      statuses.push(200);

      const ollama = new Ollama({ host: proxy.url, headers: { Authorization: `Bearer ${CANARY}` } });
      const reply = await ollama.chat({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: false,
      });
      expect(reply.done).toBe(true);
      statuses.push(200);
    } finally {
      await proxy.close();
    }
    const cassette = await recording.stop({ minInteractions: 4 });
    expect(cassette.interactions.map((i) => i.status)).toEqual([401, 429, 200, 200]);
    expect(statuses).toEqual([401, 429, 200, 200]);

    const text = await readFile(outFile, 'utf8');
    // The in-stream error and the 429 body are in the cassette (so they were recorded, not dropped).
    expect(text).toContain('overloaded_error');
    expect(text).toContain('Rate limit reached');
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain(CANARY.slice(8));
    // Not even the masked form's visible tail.
    expect(text).not.toMatch(/sk-[A-Za-z0-9_*-]*\*+[A-Za-z0-9]{4}/);
    expect(text).not.toContain(`${TAIL}.`);
  });
});
