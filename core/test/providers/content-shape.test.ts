import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import type { ProviderKind } from '../../src/runtime/types.ts';
import {
  ANTHROPIC_BASE,
  attemptContext,
  collect,
  deployment,
  FAKE_KEY,
  namedSse,
  ndjsonResponse,
  OLLAMA_BASE,
  OPENAI_BASE,
  recordPost,
  rejection,
  server,
  sse,
  sseResponse,
} from './helpers.ts';

/**
 * Issue 10, defect 13: a 200 whose text is not a string (`content: 42`) must be a
 * malformed_response, streamed and not, whichever provider sent it; it used to reach the router as
 * a number and end up as kind 'network'.
 */

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const hi = { messages: [{ role: 'user' as const, content: 'hi' }] };
const BASE: Record<string, string> = { openai: OPENAI_BASE, anthropic: ANTHROPIC_BASE, ollama: OLLAMA_BASE };
const PATH: Record<string, string> = {
  openai: `${OPENAI_BASE}/chat/completions`,
  anthropic: `${ANTHROPIC_BASE}/v1/messages`,
  ollama: `${OLLAMA_BASE}/api/chat`,
};
const MODEL: Record<string, string> = {
  openai: 'gpt-4.1',
  anthropic: 'claude-sonnet-4-6',
  ollama: 'llama3.2',
};

function adapter(provider: ProviderKind) {
  return createAdapter(deployment({ provider, model: MODEL[provider]!, baseURL: BASE[provider] }), {
    apiKey: FAKE_KEY,
  });
}

/** A non-streamed 200 whose text field is the number 42. */
const completeBody: Record<string, () => unknown> = {
  openai: () => ({
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4.1',
    choices: [{ index: 0, message: { role: 'assistant', content: 42 }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  }),
  anthropic: () => ({
    id: 'm1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-6',
    content: [{ type: 'text', text: 42 }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 5, output_tokens: 1 },
  }),
  ollama: () => ({
    model: 'llama3.2',
    message: { role: 'assistant', content: 42 },
    done: true,
    done_reason: 'stop',
  }),
};

/** A streamed 200 whose first text delta is the number 42. */
const streamResponse: Record<string, () => Response> = {
  openai: () =>
    sseResponse(
      sse([
        {
          id: 's',
          object: 'chat.completion.chunk',
          created: 1,
          model: 'gpt-4.1',
          choices: [{ index: 0, delta: { content: 42 }, finish_reason: null }],
        },
      ]),
    ),
  anthropic: () =>
    sseResponse(
      namedSse([
        {
          event: 'message_start',
          data: {
            type: 'message_start',
            message: { id: 'm', model: 'claude-sonnet-4-6', content: [], usage: { input_tokens: 5 } },
          },
        },
        {
          event: 'content_block_start',
          data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        },
        {
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 42 } },
        },
      ]),
    ),
  ollama: () =>
    ndjsonResponse([
      `${JSON.stringify({ model: 'llama3.2', message: { role: 'assistant', content: 42 }, done: false })}\n`,
    ]),
};

describe.each(['openai', 'anthropic', 'ollama'] as const)('%s: text that is not a string', (provider) => {
  it('non-streamed: malformed_response', async () => {
    recordPost(PATH[provider]!, () => HttpResponse.json(completeBody[provider]!() as never));
    const error = await rejection(adapter(provider).complete(hi, attemptContext().context));
    expect(error.kind).toBe('malformed_response');
    expect(error.status).toBe(200);
  });

  it('streamed: malformed_response', async () => {
    recordPost(PATH[provider]!, () => streamResponse[provider]!());
    const error = await rejection(collect(adapter(provider).stream(hi, attemptContext().context)));
    expect(error.kind).toBe('malformed_response');
  });
});
