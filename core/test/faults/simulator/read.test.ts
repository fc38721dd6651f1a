import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../../src/faults/chaos/plan.ts';
import { readAnswer, requestText } from '../../../src/faults/simulator/index.ts';
import { VirtualClock } from '../../../src/runtime/clock.ts';
import type { Provider } from '../../../src/runtime/types.ts';
import { chaosOn, sdkCall, settle } from '../router-kinds/harness.ts';

/**
 * read.ts reads back what the simulator writes. Each case calls the provider's official SDK (retries
 * off) through the chaos handler and keeps the raw bytes it was answered with: read from those bytes,
 * the answer text must be the text the SDK got, and a cut stream, an in-band error or a broken body
 * must be seen as such. The request the SDK built must give back its prompt.
 */

const PROVIDERS: Provider[] = ['openai', 'anthropic', 'ollama'];

async function call(provider: Provider, stream: boolean, rules: FaultRule[]) {
  const clock = new VirtualClock();
  const chaos = chaosOn(clock, rules);
  const raw: Array<Promise<string>> = [];
  const bodies: string[] = [];
  const tee = {
    ...chaos,
    handle: async (request: Request) => {
      bodies.push(await request.clone().text());
      const response = await chaos.handle(request);
      raw.push(
        response
          .clone()
          .text()
          .catch(() => ''),
      );
      return response;
    },
  };
  const outcome = await settle(
    clock,
    sdkCall(provider, tee, { stream, json: false, signal: new AbortController().signal }),
  );
  await settle(clock, Promise.all(raw));
  return { outcome, raw: await raw[0]!, body: JSON.parse(bodies[0]!) as unknown };
}

describe('readAnswer: a provider answer read back from its bytes', () => {
  for (const provider of PROVIDERS) {
    for (const stream of [false, true]) {
      it(`${provider} ${stream ? 'stream' : 'JSON'}: the text the SDK got, whole`, async () => {
        const { outcome, raw, body } = await call(provider, stream, []);
        expect(outcome.status).toBe('ok');
        const sdkText = outcome.status === 'ok' ? outcome.value.text : '';
        expect(sdkText.length).toBeGreaterThan(0);
        expect(readAnswer(provider, stream, raw)).toEqual({ text: sdkText });
        expect(requestText(body)).toContain('Say something.');
      });
    }

    it(`${provider} stream cut before its terminator`, async () => {
      const { raw } = await call(provider, true, [
        { fault: 'stream_cut', params: { afterChunks: 3 }, injection: { firstN: 1 } },
      ]);
      const answer = readAnswer(provider, true, raw);
      expect(answer.cut).toBe(true);
      expect(answer.error).toBeUndefined();
    });

    it(`${provider} stream with an error event`, async () => {
      const { raw } = await call(provider, true, [
        { fault: 'stream_error_event', params: { afterChunks: 2 }, injection: { firstN: 1 } },
      ]);
      const answer = readAnswer(provider, true, raw);
      expect(answer.error?.message.length).toBeGreaterThan(0);
      expect(answer.cut).toBeUndefined();
    });

    it(`${provider} JSON body cut mid-value, and an error body`, async () => {
      const cut = await call(provider, false, [{ fault: 'malformed_json', injection: { firstN: 1 } }]);
      expect(readAnswer(provider, false, cut.raw)).toEqual({ text: '', malformed: true });
      const failed = await call(provider, false, [{ fault: 'server_error', injection: { firstN: 1 } }]);
      expect(readAnswer(provider, false, failed.raw).error?.message).toMatch(/\w/);
    });
  }

  it('a system prompt and content parts are request text too', () => {
    expect(
      requestText({
        system: [{ type: 'text', text: 'Be brief.' }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      }),
    ).toBe('Be brief.\nHi');
    expect(requestText({ prompt: 'Why?' })).toBe('Why?');
    expect(requestText('nope')).toBe('');
  });
});
