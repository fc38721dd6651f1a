import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChaosProxy } from '../../../src/faults/delivery/proxy-server.ts';
import { type Cassette, REDACTED, record, replay } from '../../../src/faults/delivery/record-replay.ts';
import { ZERO_LATENCY } from '../../../src/faults/simulator/index.ts';

// A planted key: if any part of it reaches the cassette, redaction failed.
const CANARY = 'sk-test-CANARY-7f3a9c2e41b84d6a';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cassette-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chat = {
  model: 'gpt-4o-mini',
  // The key also appears in a body, as when a user pastes it into a prompt.
  messages: [{ role: 'user' as const, content: `Is ${CANARY} a valid key?` }],
};
const message = {
  model: 'claude-haiku-4-5',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'Hi' }],
};

async function exchanges(baseURL: string) {
  const openai = new OpenAI({ apiKey: CANARY, baseURL: `${baseURL}/v1`, maxRetries: 0 });
  const anthropic = new Anthropic({ apiKey: CANARY, baseURL, maxRetries: 0 });
  const completion = await openai.chat.completions.create(chat);
  let streamed = '';
  for await (const chunk of await openai.chat.completions.create({ ...chat, stream: true })) {
    streamed += chunk.choices[0]?.delta.content ?? '';
  }
  const reply = await anthropic.messages.stream(message).finalMessage();
  const refused = await openai.chat.completions
    .create({ ...chat, model: 'gpt-4.1' })
    .then(() => undefined)
    .catch((error: InstanceType<typeof OpenAI.APIError>) => ({
      status: error.status,
      message: error.message,
    }));
  return { completion: completion.choices[0]?.message.content, streamed, reply: reply.content, refused };
}

describe('record to a redacted cassette, replay with no server', () => {
  it('records real exchanges over a socket, leaves no trace of the key, and replays to the SDKs', async () => {
    // The "real provider": the simulator behind the chaos proxy on loopback; one call gets a 401.
    const provider = await startChaosProxy({
      seed: 17,
      mode: 'simulate',
      simulator: { latency: { '*': ZERO_LATENCY } },
      rules: [{ fault: 'invalid_api_key', target: { model: 'gpt-4.1' } }],
    });
    const outFile = join(dir, 'cassette.json');
    const recording = await record({ outFile, secrets: [CANARY] });
    let live: Awaited<ReturnType<typeof exchanges>>;
    try {
      live = await exchanges(provider.url);
    } finally {
      await provider.close();
    }
    const cassette = await recording.stop({ minInteractions: 4 });
    expect(cassette.interactions).toHaveLength(4);
    expect(live.refused?.status).toBe(401);

    const text = await readFile(outFile, 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain('7f3a9c2e41b84d6a');
    const saved = JSON.parse(text) as Cassette;
    for (const interaction of saved.interactions) {
      expect(interaction.reqheaders?.authorization).toBe(REDACTED);
      const raw = interaction.rawHeaders as Record<string, string>;
      for (const name of ['openai-organization', 'anthropic-organization-id']) {
        if (name in raw) expect(raw[name]).toBe(REDACTED);
      }
      expect(raw['transfer-encoding']).toBeUndefined();
    }
    expect(saved.interactions.map((i) => `${i.method} ${String(i.path)} ${i.status}`)).toEqual([
      'POST /v1/chat/completions 200',
      'POST /v1/chat/completions 200',
      'POST /v1/messages 200',
      'POST /v1/chat/completions 401',
    ]);

    // Replay: the proxy is closed, so only nock can answer (and other network is refused).
    const replayed = await replay(outFile, { matchBody: false });
    try {
      const again = await exchanges(provider.url);
      expect(again.completion).toBe(live.completion);
      expect(again.streamed).toBe(live.streamed);
      expect(again.reply).toEqual(live.reply);
      expect(again.refused?.status).toBe(401);
      expect(replayed.pending()).toEqual([]);
    } finally {
      await replayed.restore();
    }
  });
});
