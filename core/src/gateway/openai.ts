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
 * OpenAI's chat completions API (`POST /v1/chat/completions`), JSON and SSE: text, tools, JSON mode,
 * stream usage. Unknown request fields are accepted and ignored, as clients send many (user, seed,
 * …); a field the router cannot honour (`n` > 1, non-text content) is refused with a 400 naming it.
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart), z.null()], {
  error: 'expected a string or a list of text parts (only text content is supported)',
});

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content }),
  z.object({ role: z.literal('user'), content }),
  z.object({
    role: z.literal('assistant'),
    content: content.optional(),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const requestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  response_format: z.object({ type: z.enum(['text', 'json_object', 'json_schema']) }).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
    ])
    .nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullish(),
});

type Content = z.output<typeof content>;
const textOf = (c: Content | undefined): string =>
  typeof c === 'string' ? c : (c ?? []).map((part) => part.text).join('');

function toMessages(messages: z.output<typeof requestSchema>['messages']): ChatMessage[] {
  return messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content) };
      case 'user':
        return { role: 'user', content: textOf(m.content) };
      case 'tool':
        return { role: 'tool', content: textOf(m.content), toolCallId: m.tool_call_id };
      default:
        return {
          role: 'assistant',
          content: textOf(m.content),
          ...(m.tool_calls?.length
            ? {
                toolCalls: m.tool_calls.map((c) => ({
                  id: c.id,
                  name: c.function.name,
                  arguments: c.function.arguments,
                })),
              }
            : {}),
        };
    }
  });
}

function parse(body: unknown): ParsedCall {
  const b = parseOr400(requestSchema, body);
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  const choice = b.tool_choice;
  const toolChoice: ToolChoice | undefined =
    choice == null ? undefined : typeof choice === 'string' ? choice : { name: choice.function.name };
  return {
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
    request: {
      model: b.model,
      messages: toMessages(b.messages),
      ...(b.temperature != null ? { temperature: b.temperature } : {}),
      ...(maxTokens != null ? { maxOutputTokens: maxTokens } : {}),
      ...(b.stop != null ? { stop: typeof b.stop === 'string' ? [b.stop] : b.stop } : {}),
      // json_schema is served as JSON mode: the router asks for a JSON object and checks it parses.
      ...(b.response_format && b.response_format.type !== 'text' ? { responseFormat: 'json' as const } : {}),
      ...(b.tools?.length
        ? {
            tools: b.tools.map((t) => ({
              name: t.function.name,
              ...(t.function.description !== undefined ? { description: t.function.description } : {}),
              parameters: t.function.parameters ?? { type: 'object', properties: {} },
            })),
          }
        : {}),
      ...(toolChoice !== undefined ? { toolChoice } : {}),
    },
  };
}

const FINISH: Record<FinishReason, string> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  content_filter: 'content_filter',
  refusal: 'content_filter',
  other: 'stop',
};

function usageOf(response: ChatResponse) {
  const { inputTokens, outputTokens, cachedInputTokens } = response.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    prompt_tokens_details: { cached_tokens: cachedInputTokens },
  };
}

function completion(response: ChatResponse, created: number): unknown {
  const toolCalls = response.toolCalls.map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
  return {
    id: response.id,
    object: 'chat.completion',
    created,
    model: response.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: toolCalls.length > 0 && response.text === '' ? null : response.text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: FINISH[response.finishReason],
        logprobs: null,
      },
    ],
    usage: usageOf(response),
  };
}

/** OpenAI's error `type` by status class; the `code` is Switchyard's (an error kind or gateway code). */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function errorBody(error: GatewayError): unknown {
  return {
    error: {
      message: error.message,
      type: errorType(error.status),
      param: error.param ?? null,
      code: error.code,
    },
  };
}

function encoder(start: StreamStart) {
  let toolIndex = 0;
  const model = start.model;
  const id = `chatcmpl-${start.requestId}`;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    sse({ id, object: 'chat.completion.chunk', created: start.created, model, choices, ...extra });
  const delta = (d: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: d, finish_reason: finishReason, logprobs: null }]);
  return {
    start: () => delta({ role: 'assistant', content: '', refusal: null }),
    event(event: ProviderStreamEvent): string {
      switch (event.type) {
        case 'text-delta':
          return delta({ content: event.text });
        case 'tool-call':
          return delta({
            tool_calls: [
              {
                index: toolIndex++,
                id: event.call.id,
                type: 'function',
                function: { name: event.call.name, arguments: event.call.arguments },
              },
            ],
          });
        // Every chunk keeps the id and model it started with; the finish reason goes out with done().
        case 'finish':
        case 'usage':
          return '';
      }
    },
    done(response: ChatResponse): string {
      let text = delta({}, FINISH[response.finishReason]);
      if (start.includeUsage) text += chunk([], { usage: usageOf(response) });
      return `${text}data: [DONE]\n\n`;
    },
    // Mid-stream failures: OpenAI sends an `error` object as a data event; its SDK raises it.
    error: (error: GatewayError) => sse(errorBody(error)),
  };
}

export const openaiDialect: Dialect = { name: 'openai', parse, completion, encoder, errorBody };
