import { z } from 'zod';
import type {
  ChatMessage,
  ChatResponse,
  FinishReason,
  ProviderStreamEvent,
  ToolChoice,
} from '../runtime/types.ts';
import { type Dialect, type ParsedCall, parseOr400, type StreamStart, sse } from './dialect.ts';
import type { GatewayError } from './errors.ts';

/**
 * Anthropic's messages API (`POST /v1/messages`), JSON and SSE: text and tools. Blocks the router
 * cannot carry (images, documents, thinking) are refused with a 400 naming the field.
 */

const textBlock = z.object({ type: z.literal('text'), text: z.string() });
const toolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
});
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(textBlock)]).optional(),
  is_error: z.boolean().optional(),
});
const block = z.discriminatedUnion('type', [textBlock, toolUseBlock, toolResultBlock], {
  error: 'expected a text, tool_use or tool_result block (only these are supported)',
});

const requestSchema = z.object({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z
    .array(z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) }))
    .min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  temperature: z.number().min(0).max(1).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  tools: z
    .array(
      z.object({
        name: z.string().min(1),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  tool_choice: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('auto') }),
      z.object({ type: z.literal('any') }),
      z.object({ type: z.literal('none') }),
      z.object({ type: z.literal('tool'), name: z.string().min(1) }),
    ])
    .optional(),
});

type Request = z.output<typeof requestSchema>;
const joinText = (blocks: Array<{ text: string }>) => blocks.map((b) => b.text).join('');

function toMessages(body: Request): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.system !== undefined)
    out.push({
      role: 'system',
      content: typeof body.system === 'string' ? body.system : joinText(body.system),
    });
  for (const m of body.messages) {
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      continue;
    }
    const text = joinText(m.content.filter((b) => b.type === 'text'));
    if (m.role === 'assistant') {
      const calls = m.content.filter((b) => b.type === 'tool_use');
      out.push({
        role: 'assistant',
        content: text,
        ...(calls.length > 0
          ? {
              toolCalls: calls.map((c) => ({
                id: c.id,
                name: c.name,
                arguments: JSON.stringify(c.input ?? {}),
              })),
            }
          : {}),
      });
      continue;
    }
    // A user turn's tool results become tool messages, in order, before its text.
    for (const b of m.content) {
      if (b.type !== 'tool_result') continue;
      const content =
        b.content === undefined ? '' : typeof b.content === 'string' ? b.content : joinText(b.content);
      out.push({ role: 'tool', toolCallId: b.tool_use_id, content });
    }
    if (text !== '' || !m.content.some((b) => b.type === 'tool_result'))
      out.push({ role: 'user', content: text });
  }
  return out;
}

function parse(body: unknown): ParsedCall {
  const b = parseOr400(requestSchema, body);
  const choice = b.tool_choice;
  const toolChoice: ToolChoice | undefined =
    choice === undefined
      ? undefined
      : choice.type === 'tool'
        ? { name: choice.name }
        : choice.type === 'any'
          ? 'required'
          : choice.type;
  return {
    stream: b.stream === true,
    includeUsage: true,
    request: {
      model: b.model,
      messages: toMessages(b),
      maxOutputTokens: b.max_tokens,
      ...(b.temperature !== undefined ? { temperature: b.temperature } : {}),
      ...(b.stop_sequences?.length ? { stop: b.stop_sequences } : {}),
      ...(b.tools?.length
        ? {
            tools: b.tools.map((t) => ({
              name: t.name,
              ...(t.description !== undefined ? { description: t.description } : {}),
              parameters: t.input_schema,
            })),
          }
        : {}),
      ...(toolChoice !== undefined ? { toolChoice } : {}),
    },
  };
}

const STOP_REASON: Record<FinishReason, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
  refusal: 'refusal',
  other: 'end_turn',
};

/** Tool arguments as the object Anthropic's `input` is; arguments that are not a JSON object are kept as text. */
function inputOf(args: string): unknown {
  try {
    const value: unknown = JSON.parse(args || '{}');
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  return { arguments: args };
}

function usageOf(response: ChatResponse) {
  return {
    input_tokens: response.usage.inputTokens,
    output_tokens: response.usage.outputTokens,
    cache_read_input_tokens: response.usage.cachedInputTokens,
    cache_creation_input_tokens: 0,
  };
}

function completion(response: ChatResponse): unknown {
  return {
    id: response.id,
    type: 'message',
    role: 'assistant',
    model: response.model,
    content: [
      ...(response.text !== '' || response.toolCalls.length === 0
        ? [{ type: 'text', text: response.text }]
        : []),
      ...response.toolCalls.map((c) => ({
        type: 'tool_use',
        id: c.id,
        name: c.name,
        input: inputOf(c.arguments),
      })),
    ],
    stop_reason: STOP_REASON[response.finishReason],
    stop_sequence: null,
    usage: usageOf(response),
  };
}

/** Anthropic's error `type` by status. */
function errorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function errorBody(error: GatewayError): unknown {
  return { type: 'error', error: { type: errorType(error.status), message: error.message } };
}

function encoder(start: StreamStart) {
  let index = -1;
  let open: 'text' | undefined;
  const closeBlock = () => {
    if (open === undefined) return '';
    open = undefined;
    return sse({ type: 'content_block_stop', index }, 'content_block_stop');
  };
  return {
    start: () =>
      sse(
        {
          type: 'message_start',
          message: {
            id: `msg_${start.requestId}`,
            type: 'message',
            role: 'assistant',
            model: start.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 0, output_tokens: 0 },
          },
        },
        'message_start',
      ),
    event(event: ProviderStreamEvent): string {
      if (event.type === 'text-delta') {
        let text = '';
        if (open !== 'text') {
          text += closeBlock();
          open = 'text';
          index++;
          text += sse(
            { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
            'content_block_start',
          );
        }
        return (
          text +
          sse(
            { type: 'content_block_delta', index, delta: { type: 'text_delta', text: event.text } },
            'content_block_delta',
          )
        );
      }
      if (event.type === 'tool-call') {
        index++;
        const { id, name, arguments: args } = event.call;
        return (
          closeBlock() +
          sse(
            { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } },
            'content_block_start',
          ) +
          sse(
            {
              type: 'content_block_delta',
              index,
              delta: { type: 'input_json_delta', partial_json: args || '{}' },
            },
            'content_block_delta',
          ) +
          sse({ type: 'content_block_stop', index }, 'content_block_stop')
        );
      }
      return '';
    },
    done(response: ChatResponse): string {
      return (
        closeBlock() +
        sse(
          {
            type: 'message_delta',
            delta: { stop_reason: STOP_REASON[response.finishReason], stop_sequence: null },
            usage: usageOf(response),
          },
          'message_delta',
        ) +
        sse({ type: 'message_stop' }, 'message_stop')
      );
    },
    error: (error: GatewayError) => sse(errorBody(error), 'error'),
  };
}

export const anthropicDialect: Dialect = { name: 'anthropic', parse, completion, encoder, errorBody };
