import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  brotliCompressSync,
  brotliDecompressSync,
  deflateSync,
  gunzipSync,
  gzipSync,
  inflateSync,
} from 'node:zlib';
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

/** Every way a body can hide in a cassette: hex chunks (nock's form for encoded bodies), decoded. */
function bodiesOf(text: string): string[] {
  const out: string[] = [];
  for (const hex of text.match(/"[0-9a-f]{16,}"/g) ?? []) {
    const bytes = Buffer.from(hex.slice(1, -1), 'hex');
    out.push(bytes.toString('latin1'));
    for (const decode of [gunzipSync, inflateSync, brotliDecompressSync]) {
      try {
        out.push(decode(bytes).toString('utf8'));
      } catch {
        // not this encoding
      }
    }
  }
  return out;
}

describe('compressed upstream bodies', () => {
  const ENCODERS = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;

  it('are decoded before redaction, stored decoded, and replay as recorded (gzip, deflate, br)', async () => {
    // A provider (or a proxy in front of it) that compresses, and echoes the key in its body.
    const upstream = createServer((req, res) => {
      req.resume();
      const encoding = (req.url ?? '').split('/')[1] as keyof typeof ENCODERS;
      const body = JSON.stringify({
        id: `chatcmpl-${encoding}`,
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `answer over ${encoding}` },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
        echo: `your key: ${String(req.headers.authorization)}`,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      res.end(ENCODERS[encoding](Buffer.from(body)));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const ask = async () => {
      const answers: string[] = [];
      for (const encoding of Object.keys(ENCODERS)) {
        const openai = new OpenAI({ apiKey: CANARY, baseURL: `${origin}/${encoding}/v1`, maxRetries: 0 });
        const completion = await openai.chat.completions.create(chat);
        answers.push(completion.choices[0]?.message.content ?? '');
      }
      return answers;
    };
    const outFile = join(dir, 'compressed.json');
    const recording = await record({ outFile, secrets: [CANARY] });
    let live: string[];
    try {
      live = await ask();
    } finally {
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
    await recording.stop({ minInteractions: 3 });
    expect(live).toEqual(['answer over gzip', 'answer over deflate', 'answer over br']);

    const text = await readFile(outFile, 'utf8');
    for (const body of [text, ...bodiesOf(text)]) {
      expect(body).not.toContain('CANARY');
      expect(body).not.toContain(CANARY.slice(-8));
    }
    // Stored decoded, so a reader (and the scrub) sees the text, and no encoding header is left.
    const saved = JSON.parse(text) as Cassette;
    for (const interaction of saved.interactions) {
      expect(JSON.stringify(interaction.response)).toContain('your key: Bearer [REDACTED]');
      expect(Object.keys(interaction.rawHeaders as Record<string, string>)).not.toContain('content-encoding');
    }

    const replayed = await replay(outFile, { matchBody: false });
    try {
      expect(await ask()).toEqual(live);
      expect(replayed.pending()).toEqual([]);
    } finally {
      await replayed.restore();
    }
  });
});
