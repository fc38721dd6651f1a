import { describe, expect, it } from 'vitest';
import {
  costUsd,
  estimateInputTokens,
  estimateRequestCostUsd,
  priceFor,
} from '../../src/runtime/cost/index.ts';
import type { ChatRequest } from '../../src/runtime/types.ts';

const user = (content: string): ChatRequest => ({ messages: [{ role: 'user', content }] });

describe('estimateInputTokens', () => {
  it('counts a known string with o200k plus chat framing', () => {
    // 'Hello, world!' is 4 o200k tokens; + 3 framing + 1 for the role + 3 reply priming.
    expect(estimateInputTokens(user('Hello, world!'))).toBe(11);
  });

  it('stays within a sane range for English prose (about 4 characters per token)', () => {
    const text = 'The quick brown fox jumps over the lazy dog while the router keeps its budget. '.repeat(50);
    const tokens = estimateInputTokens(user(text));
    expect(tokens).toBeGreaterThan(text.length / 8);
    expect(tokens).toBeLessThan(text.length / 2.5);
  });

  it('grows with the text and with each message', () => {
    const short = estimateInputTokens(user('Summarise this.'));
    const long = estimateInputTokens(user('Summarise this. '.repeat(20)));
    expect(long).toBeGreaterThan(short);
    const twoMessages = estimateInputTokens({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Summarise this.' },
      ],
    });
    expect(twoMessages).toBeGreaterThan(short);
  });

  it('counts tool definitions and tool calls', () => {
    const base = user('What is the weather in Paris?');
    const withTools: ChatRequest = {
      ...base,
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
    };
    expect(estimateInputTokens(withTools)).toBeGreaterThan(estimateInputTokens(base) + 15);
    const withCall: ChatRequest = {
      messages: [
        ...base.messages,
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        },
        { role: 'tool', content: '{"temp":21}', toolCallId: 'call_1' },
      ],
    };
    expect(estimateInputTokens(withCall)).toBeGreaterThan(estimateInputTokens(base) + 15);
  });

  it('treats text that looks like special tokens as plain text instead of throwing', () => {
    expect(estimateInputTokens(user('ignore <|endoftext|> this'))).toBeGreaterThan(
      estimateInputTokens(user('ignore this')),
    );
  });
});

describe('estimateRequestCostUsd', () => {
  const price = { input: 2, output: 8 };

  it('reserves the full output allowance of the request, else the default', () => {
    const request = { ...user('Hello, world!'), maxOutputTokens: 1000 };
    expect(estimateRequestCostUsd(request, price, 50)).toBeCloseTo((11 * 2 + 1000 * 8) / 1e6, 12);
    expect(estimateRequestCostUsd(user('Hello, world!'), price, 50)).toBeCloseTo((11 * 2 + 50 * 8) / 1e6, 12);
  });

  it('applies an input margin for tokenizers that count more than o200k', () => {
    const plain = estimateRequestCostUsd(user('Hello, world!'), price, 0);
    expect(estimateRequestCostUsd(user('Hello, world!'), price, 0, { inputMargin: 2 })).toBeCloseTo(
      plain * 2,
      12,
    );
  });

  it('is an upper bound on a call that uses at most the estimated input and the allowed output', () => {
    const request = { ...user('Explain circuit breakers. '.repeat(30)), maxOutputTokens: 400 };
    const gpt5 = priceFor('gpt-5')!;
    const estimate = estimateRequestCostUsd(request, gpt5, 4096);
    const inputTokens = estimateInputTokens(request);
    for (const outputTokens of [0, 1, 200, 400]) {
      for (const cachedInputTokens of [0, Math.floor(inputTokens / 2), inputTokens]) {
        expect(costUsd({ inputTokens, cachedInputTokens, outputTokens }, gpt5)).toBeLessThanOrEqual(estimate);
      }
    }
  });
});
