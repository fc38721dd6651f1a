import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../../src/faults/chaos/catalogue.ts';
import { validateRules } from '../../../src/faults/chaos/plan.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import { parseRetryAfterMs } from '../../../src/runtime/providers/retry-after.ts';
import {
  anthropicReq,
  chaosOverSimulator,
  ndjson,
  ollamaReq,
  openaiReq,
  openaiStreamText,
  sseData,
} from './helpers.ts';

/** What the scenario format asks of the chaos layer beyond the catalogue: rule headers, cycles, cut points. */

/** The text deltas of an Anthropic stream. */
const anthropicText = (body: string) =>
  sseData(body)
    .map((d) => d as { type?: string; delta?: { text?: string } })
    .filter((d) => d.type === 'content_block_delta')
    .map((d) => d.delta?.text ?? '')
    .join('');
const ollamaText = (body: string) =>
  ndjson(body)
    .map((line) => (line as { message?: { content?: string } }).message?.content ?? '')
    .join('');

describe('rule headers and Retry-After', () => {
  it('sets Retry-After in seconds on a 503, replacing nothing else', async () => {
    const chaos = chaosOverSimulator([
      {
        fault: 'service_unavailable',
        retryAfter: { ms: 2_500, format: 'seconds' },
        headers: { 'x-why': 'test' },
      },
    ]);
    const response = await chaos.handle(openaiReq());
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('x-why')).toBe('test');
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect((await response.json()).error.type).toBe('server_error');
  });

  it('sends an HTTP date on the plan clock (a 529), whole seconds rounded up, and drops retry-after-ms', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 0, 0, 0, 250));
    const overloaded = chaosOverSimulator(
      [{ fault: 'overloaded', retryAfter: { ms: 30_000, format: 'http-date' } }],
      7,
      clock,
    );
    const response = await overloaded.handle(anthropicReq());
    expect(response.status).toBe(529);
    expect(response.headers.get('retry-after')).toBe('Thu, 01 Jan 2026 00:00:31 GMT');
    // Read on the same clock, it asks for at least the wait (never less).
    expect(parseRetryAfterMs(response.headers, clock.now())).toBe(30_750);
    const limited = chaosOverSimulator(
      [{ fault: 'rate_limit', retryAfter: { ms: 5_000, format: 'http-date' } }],
      7,
      clock,
    );
    const throttled = await limited.handle(openaiReq());
    expect(throttled.headers.get('retry-after-ms')).toBeNull();
    expect(parseRetryAfterMs(throttled.headers, clock.now())).toBe(5_750);
  });

  it('leaves transport faults alone and rejects bad header names', async () => {
    expect(() => validateRules([{ fault: 'server_error', headers: { 'bad name': 'x' } }])).toThrow(
      /rules\[0\]\.headers: 'bad name' is not a header name/,
    );
    expect(() =>
      validateRules([{ fault: 'server_error', retryAfter: { ms: 1, format: 'minutes' } }]),
    ).toThrow(/retryAfter\.format/);
  });
});

describe('a repeating cycle', () => {
  it('injects during each down period and passes during each up period', async () => {
    const clock = new VirtualClock(0);
    const chaos = chaosOverSimulator(
      [
        {
          fault: 'server_error',
          injection: { window: { fromMs: 1_000 }, cycle: { downMs: 200, upMs: 300 } },
        },
      ],
      7,
      clock,
    );
    const statusAt = async (ms: number) => {
      await clock.advanceTo(ms, 0);
      return (await chaos.handle(openaiReq())).status;
    };
    // Before the window; down 1000–1200; up 1200–1500; down 1500–1700; up 1700–2000.
    expect([
      await statusAt(500),
      await statusAt(1_000),
      await statusAt(1_199),
      await statusAt(1_200),
      await statusAt(1_499),
      await statusAt(1_500),
      await statusAt(1_750),
    ]).toEqual([200, 500, 500, 200, 200, 500, 200]);
  });
});

describe('stream faults after N characters or N text deltas', () => {
  it('stream_cut after 17 characters: exactly 17 characters arrive, on every provider', async () => {
    const chaos = chaosOverSimulator([{ fault: 'stream_cut', params: { afterChars: 17 } }]);
    const openai = await (await chaos.handle(openaiReq({ stream: true }))).text();
    expect(openaiStreamText(openai)).toHaveLength(17);
    expect(openai).not.toContain('[DONE]');
    const anthropic = await (await chaos.handle(anthropicReq({ stream: true }))).text();
    expect(anthropicText(anthropic)).toHaveLength(17);
    expect(anthropic).not.toContain('message_stop');
    const ollama = await (await chaos.handle(ollamaReq())).text();
    expect(ollamaText(ollama)).toHaveLength(17);
  });

  it('the characters kept are the start of the uncut answer', async () => {
    const whole = openaiStreamText(
      await (await chaosOverSimulator([]).handle(openaiReq({ stream: true }))).text(),
    );
    const cut = openaiStreamText(
      await (
        await chaosOverSimulator([{ fault: 'stream_cut', params: { afterChars: 9 } }]).handle(
          openaiReq({ stream: true }),
        )
      ).text(),
    );
    expect(cut).toBe(whole.slice(0, 9));
  });

  it('stream_error_event after 2 text deltas, stall_after_headers after 0 characters', async () => {
    const error = await (
      await chaosOverSimulator([{ fault: 'stream_error_event', params: { afterTokens: 2 } }]).handle(
        openaiReq({ stream: true }),
      )
    ).text();
    const data = sseData(error) as Array<{
      choices?: Array<{ delta?: { content?: string } }>;
      error?: unknown;
    }>;
    expect(data.filter((d) => d.choices?.[0]?.delta?.content).length).toBe(2);
    expect(data.at(-1)).toHaveProperty('error');
    const controller = new AbortController();
    const stalled = await chaosOverSimulator([
      { fault: 'stall_after_headers', params: { afterChars: 0 } },
    ]).handle(openaiReq({ stream: true }, controller.signal));
    const reader = stalled.body!.getReader();
    const first = await reader.read();
    // The role chunk comes (it carries no text), then nothing: the stall holds before any text.
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    const pending = reader.read();
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('takes one cut point only', () => {
    expect(() => resolveParams('stream_cut', { afterChunks: 2, afterChars: 10 })).toThrow(
      /give one of 'afterChunks', 'afterChars', not several/,
    );
  });
});

describe('empty_body', () => {
  it('answers 200 with no body at all, streamed or not', async () => {
    const chaos = chaosOverSimulator([{ fault: 'empty_body' }]);
    const plain = await chaos.handle(openaiReq());
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toContain('application/json');
    expect(await plain.text()).toBe('');
    const stream = await chaos.handle(anthropicReq({ stream: true }));
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expect(await stream.text()).toBe('');
  });
});
