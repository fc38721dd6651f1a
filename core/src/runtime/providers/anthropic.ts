import type Anthropic from '@anthropic-ai/sdk';
import type {
  Message,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages';
import { loadAnthropic } from '../../lazy.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { SwitchyardError } from '../errors.ts';
import type {
  ChatMessage,
  ChatRequest,
  FinishReason,
  ProviderKind,
  ProviderResult,
  ProviderStreamEvent,
  ToolCall,
  ToolChoice,
  Usage,
} from '../types.ts';
import type { AttemptContext, ProviderAdapter } from './adapter.ts';
import { Attempt, type AttemptInfo } from './attempt.ts';
import { createHookedFetch } from './http-hooks.ts';
import {
  DEFAULT_BASE_URLS,
  effectiveMaxTokens,
  NO_KEY_PLACEHOLDER,
  type ProviderClientOptions,
  SDK_TIMEOUT_MS,
} from './shared.ts';

export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/** Anthropic has no JSON mode; the instruction goes at the end of the system prompt. */
export const JSON_MODE_INSTRUCTION =
  'Respond with a single valid JSON object only: no prose, no code fences, nothing before or after it.';

// max_tokens is required by the Messages API, so a rejected max_tokens cannot be dropped.
const REQUIRED_PARAMS = new Set(['model', 'messages', 'max_tokens', 'stream']);

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'refusal',
};

export function mapAnthropicStopReason(reason: string | null | undefined): FinishReason {
  return (reason && STOP_REASONS[reason]) || 'other';
}

type Block = Record<string, unknown>;
interface WireMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

function parseArguments(call: ToolCall, deployment: string): unknown {
  try {
    return call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch (error) {
    throw new SwitchyardError('bad_request', {
      message: `anthropic: the arguments of tool call ${call.id} are not valid JSON`,
      provider: 'anthropic',
      deployment,
      cause: error,
    });
  }
}

function toWireMessages(messages: readonly ChatMessage[], deployment: string): WireMessage[] {
  const out: WireMessage[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    if (message.role === 'tool') {
      const block: Block = {
        type: 'tool_result',
        tool_use_id: message.toolCallId ?? '',
        content: message.content,
      };
      const last = out.at(-1);
      // Results of parallel tool calls belong in one user turn.
      if (
        last?.role === 'user' &&
        Array.isArray(last.content) &&
        last.content.every((b) => b.type === 'tool_result')
      ) {
        last.content.push(block);
      } else {
        out.push({ role: 'user', content: [block] });
      }
      continue;
    }
    if (message.role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) {
      const blocks: Block[] = message.content ? [{ type: 'text', text: message.content }] : [];
      for (const call of message.toolCalls) {
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.name,
          input: parseArguments(call, deployment),
        });
      }
      out.push({ role: 'assistant', content: blocks });
      continue;
    }
    out.push({ role: message.role, content: message.content });
  }
  return out;
}

function toToolChoice(choice: ToolChoice): Record<string, unknown> {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}

interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/**
 * Anthropic's input_tokens counts only the uncached part; Switchyard's inputTokens (like OpenAI's
 * prompt_tokens) is the whole prompt, with cachedInputTokens the part read from the cache.
 */
function toUsage(usage: AnthropicUsageLike | null | undefined): Usage {
  const cached = usage?.cache_read_input_tokens ?? 0;
  return {
    inputTokens: (usage?.input_tokens ?? 0) + cached + (usage?.cache_creation_input_tokens ?? 0),
    outputTokens: usage?.output_tokens ?? 0,
    cachedInputTokens: cached,
  };
}

/** Adapter over the official `@anthropic-ai/sdk` Messages API. */
export class AnthropicAdapter implements ProviderAdapter {
  readonly provider: ProviderKind = 'anthropic';
  readonly model: string;
  readonly client: Anthropic;
  private readonly deployment: DeploymentConfig;
  private readonly info: AttemptInfo;

  constructor(deployment: DeploymentConfig, options: ProviderClientOptions = {}) {
    this.deployment = deployment;
    this.model = deployment.model;
    this.info = { provider: 'anthropic', deployment: deployment.id, secrets: [options.apiKey] };
    // The SDK is loaded when the first deployment of this provider is built, not on import.
    const { default: AnthropicSdk } = loadAnthropic();
    this.client = new AnthropicSdk({
      // Everything the SDK would otherwise read from the environment is given (see shared.ts); an
      // explicit apiKey also keeps ANTHROPIC_AUTH_TOKEN unread.
      apiKey: options.apiKey ?? NO_KEY_PLACEHOLDER,
      baseURL: deployment.baseURL ?? DEFAULT_BASE_URLS.anthropic,
      webhookKey: null,
      maxRetries: 0,
      timeout: options.sdkTimeoutMs ?? SDK_TIMEOUT_MS,
      fetch: createHookedFetch(options),
      defaultHeaders: deployment.headers,
    });
  }

  /** The exact /v1/messages body for a request (exported for tests and traces). */
  buildParams(
    request: ChatRequest,
    context: Pick<AttemptContext, 'rewriteParams'> = {},
  ): Record<string, unknown> {
    const systemParts = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
    if (request.responseFormat === 'json') systemParts.push(JSON_MODE_INSTRUCTION);
    const params: Record<string, unknown> = {
      model: this.deployment.model,
      max_tokens: effectiveMaxTokens(request, this.deployment) ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
      messages: toWireMessages(request.messages, this.deployment.id),
    };
    if (systemParts.length > 0) params.system = systemParts.join('\n\n');
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.stop && request.stop.length > 0) params.stop_sequences = request.stop;
    if (request.tools && request.tools.length > 0) {
      params.tools = request.tools.map((tool) => ({
        name: tool.name,
        ...(tool.description !== undefined && { description: tool.description }),
        input_schema: tool.parameters,
      }));
      if (request.toolChoice !== undefined) params.tool_choice = toToolChoice(request.toolChoice);
    }
    for (const name of context.rewriteParams ?? []) {
      if (!REQUIRED_PARAMS.has(name)) delete params[name];
    }
    return params;
  }

  // Not async: a suspended async function is one more frame held per call in flight.
  complete(request: ChatRequest, context: AttemptContext): Promise<ProviderResult> {
    const attempt = new Attempt(context, this.info);
    const body = this.buildParams(request, context) as unknown as MessageCreateParamsNonStreaming;
    return attempt.run(
      (options) => this.client.messages.create(body, options),
      (message: Message) => this.#result(message, attempt),
    );
  }

  #result(message: Message, attempt: Attempt): ProviderResult {
    if (!message || !Array.isArray(message.content)) {
      throw new SwitchyardError('malformed_response', {
        message: 'anthropic: the message has no content array',
        provider: 'anthropic',
        deployment: this.deployment.id,
        status: attempt.state.response?.status,
      });
    }
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === 'text' && typeof block.text !== 'string')
        throw attempt.malformed(`a text block's text is a ${typeof block.text}, not a string`);
      if (block.type === 'text') text += block.text;
      else if (block.type === 'tool_use') {
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
      }
    }
    return {
      id: message.id,
      text,
      toolCalls,
      finishReason: mapAnthropicStopReason(message.stop_reason),
      usage: toUsage(message.usage),
      model: message.model,
    };
  }

  async *stream(request: ChatRequest, context: AttemptContext): AsyncIterable<ProviderStreamEvent> {
    const attempt = new Attempt(context, this.info, true);
    const body = {
      ...this.buildParams(request, context),
      stream: true,
    } as unknown as MessageCreateParamsStreaming;
    const sdkStream = await attempt.run((options) => this.client.messages.create(body, options));

    const usage: AnthropicUsageLike = {};
    const merge = (next: AnthropicUsageLike | null | undefined): void => {
      if (!next) return;
      // message_delta repeats the counts cumulatively; null means "unchanged".
      for (const key of [
        'input_tokens',
        'output_tokens',
        'cache_read_input_tokens',
        'cache_creation_input_tokens',
      ] as const) {
        const value = next[key];
        if (typeof value === 'number') usage[key] = value;
      }
    };
    const tools = new Map<number, ToolCall>();
    let stopReason: string | null | undefined;
    let id: string | undefined;
    let model: string | undefined;
    let stopped = false;

    for await (const event of attempt.iterate<RawMessageStreamEvent>(sdkStream)) {
      // The SDK yields whatever JSON a `data:` line held: `data: null` is skipped like an unknown event,
      // not a crash on `event.type` (found by core/test/hardening/properties.test.ts).
      if (typeof event !== 'object' || event === null) continue;
      switch (event.type) {
        case 'message_start':
          id = event.message.id;
          model = event.message.model;
          merge(event.message.usage);
          break;
        case 'content_block_start':
          if (event.content_block.type === 'tool_use') {
            tools.set(event.index, {
              id: event.content_block.id,
              name: event.content_block.name,
              arguments: '',
            });
          }
          break;
        case 'content_block_delta':
          if (event.delta.type === 'text_delta' && typeof event.delta.text !== 'string')
            throw attempt.malformed(`a text_delta's text is a ${typeof event.delta.text}, not a string`);
          if (event.delta.type === 'text_delta') yield { type: 'text-delta', text: event.delta.text };
          else if (event.delta.type === 'input_json_delta') {
            const call = tools.get(event.index);
            if (call) call.arguments += event.delta.partial_json;
          }
          break;
        case 'content_block_stop': {
          const call = tools.get(event.index);
          if (call) {
            tools.delete(event.index);
            // A tool with no parameters streams no input_json_delta at all.
            yield {
              type: 'tool-call',
              call: { ...call, arguments: call.arguments === '' ? '{}' : call.arguments },
            };
          }
          break;
        }
        case 'message_delta':
          stopReason = event.delta.stop_reason ?? stopReason;
          merge(event.usage);
          break;
        case 'message_stop':
          stopped = true;
          break;
      }
      // message_stop completes the answer: do not wait for the body to close (a slow close would
      // otherwise run into the idle deadline after the whole answer arrived).
      if (stopped) break;
    }
    if (!stopped) throw attempt.cut('message_stop');
    yield { type: 'usage', usage: toUsage(usage) };
    yield {
      type: 'finish',
      finishReason: mapAnthropicStopReason(stopReason),
      ...(id && { id }),
      ...(model && { model }),
    };
  }
}
