import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLLAMA_VERSION } from '../../../src/faults/simulator/index.ts';
import { collect, ORIGIN, simServer } from './helpers.ts';

const sim = simServer();
beforeAll(() => sim.server.listen());
afterAll(() => sim.server.close());

// Built per test, after listen(): `import ollama from 'ollama'` would capture fetch too early.
const client = () => new Ollama({ host: ORIGIN });
const user = (content: string) => [{ role: 'user', content }];

describe('Ollama (real SDK over MSW)', () => {
  it('chat returns a done message with stats in nanoseconds and consistent counts', async () => {
    sim.use({ seed: 31 });
    const response = await client().chat({ model: 'llama3.2', messages: user('hi') });
    expect(response.model).toBe('llama3.2');
    expect(response.done).toBe(true);
    expect(response.done_reason).toBe('stop');
    expect(response.message.role).toBe('assistant');
    expect(response.eval_count).toBe(encode(response.message.content).length);
    expect(response.prompt_eval_count).toBeGreaterThan(0);
    expect(response.total_duration).toBeGreaterThanOrEqual(
      response.load_duration + response.prompt_eval_duration + response.eval_duration,
    );
    // ollama-js types say Date, but the wire (and the SDK at run time) carries an RFC 3339 string.
    expect(String(response.created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('chat streams NDJSON ending in one done:true line', async () => {
    sim.use({ seed: 32 });
    const parts = await collect(
      await client().chat({ model: 'llama3.2', messages: user('hi'), stream: true }),
    );
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.filter((p) => p.done)).toHaveLength(1);
    const last = parts.at(-1)!;
    expect(last.done).toBe(true);
    const text = parts.map((p) => p.message.content).join('');
    expect(last.eval_count).toBe(encode(text).length);
    expect(last.eval_duration).toBeGreaterThan(0);
  });

  it('streams by default with application/x-ndjson when stream is absent (server default)', async () => {
    sim.use();
    const response = await fetch(`${ORIGIN}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: user('hi'), options: { num_predict: 3 } }),
    });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'length', eval_count: 3 });
  });

  it('generate (JSON and stream) honours num_predict and stop', async () => {
    sim.use({ seed: 33 });
    const full = await client().generate({ model: 'qwen2.5:7b', prompt: 'story' });
    expect(full.done_reason).toBe('stop');
    expect(full.context.length).toBeGreaterThan(0);
    sim.use({ seed: 33 });
    const cut = await client().generate({
      model: 'qwen2.5:7b',
      prompt: 'story',
      options: { num_predict: 4 },
    });
    expect(cut.done_reason).toBe('length');
    expect(cut.eval_count).toBe(4);
    const fullText = full.response ?? '';
    expect(fullText.startsWith(cut.response ?? '')).toBe(true);
    const stop = fullText.split(' ')[4]!;
    sim.use({ seed: 33 });
    const streamed = await collect(
      await client().generate({
        model: 'qwen2.5:7b',
        prompt: 'story',
        stream: true,
        options: { stop: [stop] },
      }),
    );
    expect(streamed.map((p) => p.response).join('')).toBe(fullText.slice(0, fullText.indexOf(stop)));
    expect(streamed.at(-1)!.done_reason).toBe('stop');
  });

  it("format: 'json' returns valid JSON; tools give a tool call with object arguments", async () => {
    sim.use();
    const json = await client().chat({ model: 'llama3.2', messages: user('json'), format: 'json' });
    expect(typeof JSON.parse(json.message.content)).toBe('object');
    const withTool = await client().chat({
      model: 'llama3.2',
      messages: user('weather?'),
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
    });
    const call = withTool.message.tool_calls![0]!;
    expect(call.function.name).toBe('get_weather');
    expect(typeof call.function.arguments.city).toBe('string');
  });

  it('list, version, and a missing model as ResponseError 404', async () => {
    sim.use();
    const { models } = await client().list();
    expect(models.map((m) => m.name)).toContain('llama3.2:latest');
    expect(models[0]!.details.format).toBe('gguf');
    expect(await client().version()).toEqual({ version: OLLAMA_VERSION });
    const error = (await client()
      .chat({ model: 'nope', messages: user('hi') })
      .catch((e: unknown) => e)) as { status_code: number; error: string };
    expect(error.status_code).toBe(404);
    expect(error.error).toBe('model "nope" not found, try pulling it first');
  });

  it('an over-long prompt is truncated to num_ctx (Ollama does not error), or 400 with truncate:false', async () => {
    sim.use();
    const long = 'lorem ipsum '.repeat(3_000);
    const response = await client().chat({
      model: 'llama3.2',
      messages: user(long),
      options: { num_ctx: 2048 },
    });
    expect(response.prompt_eval_count).toBe(2048);
    const raw = await fetch(`${ORIGIN}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: user(long), stream: false, truncate: false }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ error: 'the input length exceeds the context length' });
  });
});
