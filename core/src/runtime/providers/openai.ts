import type OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { loadOpenAI } from '../../lazy.ts';
import type { DeploymentConfig } from '../config/schema.ts';
import { SwitchyardError } from '../errors.ts';
import type {
  ChatMessage,
  ChatRequest,
  EmbedRequest,
  EmbedResult,
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

/** o1/o3/o4 and gpt-5 families reject max_tokens and any non-default temperature. */
const REASONING_MODEL = /^(o1|o3|o4|gpt-5)([-.]|$)/i;

export function isReasoningModel(deployment: Pick<DeploymentConfig, 'model' | 'reasoning'>): boolean {
  if (deployment.reasoning !== undefined) return deployment.reasoning;
  // OpenAI-compatible gateways often prefix the vendor: 'openai/gpt-5-mini'.
  const name = deployment.model.split('/').pop() ?? deployment.model;
  return REASONING_MODEL.test(name);
}

// Parameters an adapter must always send; rewriteParams never removes them.
const REQUIRED_PARAMS = new Set(['model', 'messages', 'stream']);

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

export function mapOpenAIFinishReason(reason: string | null | undefined): FinishReason {
  return (reason && FINISH_REASONS[reason]) || 'other';
}

function toMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: message.content };
    case 'assistant': {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // The API wants null rather than '' next to tool calls.
        content: message.content === '' ? null : message.content,
        tool_calls: calls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
  }
}

function toToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function toUsage(usage: ChatCompletion['usage'] | null | undefined): Usage {
  return {
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    cachedInputTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

/** Adapter over the official `openai` SDK; also serves OpenAI-compatible servers (vLLM, LM Studio, Groq). */
export class OpenAIAdapter implements ProviderAdapter {
  readonly provider: ProviderKind;
  readonly model: string;
  readonly client: OpenAI;
  protected readonly deployment: DeploymentConfig;
  protected readonly info: AttemptInfo;

  constructor(deployment: DeploymentConfig, options: ProviderClientOptions = {}) {
    this.deployment = deployment;
    this.provider = deployment.provider;
    this.model = deployment.model;
    this.info = { provider: deployment.provider, deployment: deployment.id, secrets: [options.apiKey] };
    try {
      // The SDK is loaded when the first deployment of this provider is built, not on import.
      const { default: OpenAISdk } = loadOpenAI();
      this.client = new OpenAISdk({
        // Everything the SDK would otherwise read from the environment is given (see shared.ts).
        apiKey: options.apiKey ?? NO_KEY_PLACEHOLDER,
        baseURL: deployment.baseURL ?? DEFAULT_BASE_URLS.openai,
        adminAPIKey: null,
        organization: null,
        project: null,
        webhookSecret: null,
        maxRetries: 0,
        timeout: options.sdkTimeoutMs ?? SDK_TIMEOUT_MS,
        fetch: createHookedFetch(options),
        defaultHeaders: deployment.headers,
      });
    } catch (error) {
      throw new SwitchyardError('auth', {
        message: `${deployment.provider}: cannot create a client for deployment ${deployment.id}: ${(error as Error).message}`,
        provider: deployment.provider,
        deployment: deployment.id,
        cause: error,
      });
    }
  }

  /** The exact chat.completions body for a request (exported for tests and traces). */
  buildParams(
    request: ChatRequest,
    context: Pick<AttemptContext, 'rewriteParams'> = {},
  ): Record<string, unknown> {
    const rewrite = new Set(context.rewriteParams ?? []);
    const reasoning = isReasoningModel(this.deployment);
    const params: Record<string, unknown> = {
      model: this.deployment.model,
      messages: request.messages.map(toMessage),
    };
    if (request.temperature !== undefined && !reasoning) params.temperature = request.temperature;
    const maxTokens = effectiveMaxTokens(request, this.deployment);
    if (maxTokens !== undefined) {
      // A provider that rejected max_tokens gets max_completion_tokens on the next attempt.
      if (reasoning || rewrite.has('max_tokens')) params.max_completion_tokens = maxTokens;
      else params.max_tokens = maxTokens;
    }
    if (request.stop && request.stop.length > 0) params.stop = request.stop;
    if (request.responseFormat === 'json') params.response_format = { type: 'json_object' };
    if (request.tools && request.tools.length > 0) {
      params.tools = request.tools.map((tool) => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          parameters: tool.parameters,
        },
      }));
      if (request.toolChoice !== undefined) params.tool_choice = toToolChoice(request.toolChoice);
    }
    for (const name of rewrite) {
      if (name !== 'max_tokens' && !REQUIRED_PARAMS.has(name)) delete params[name];
    }
    return params;
  }

  // Not async: a suspended async function is one more frame held per call in flight.
  complete(request: ChatRequest, context: AttemptContext): Promise<ProviderResult> {
    const attempt = new Attempt(context, this.info);
    const body = this.buildParams(request, context) as unknown as ChatCompletionCreateParamsNonStreaming;
    return attempt.run(
      (options) => this.client.chat.completions.create(body, options),
      (completion) => this.#result(completion, attempt),
    );
  }

  #result(completion: ChatCompletion & { _request_id?: string | null }, attempt: Attempt): ProviderResult {
    const choice = completion?.choices?.[0];
    if (!choice?.message) {
      throw new SwitchyardError('malformed_response', {
        message: `${this.provider}: the completion has no choices`,
        provider: this.provider,
        deployment: this.deployment.id,
        status: attempt.state.response?.status,
        requestId: completion?._request_id ?? undefined,
      });
    }
    const message = choice.message;
    if (message.content != null && typeof message.content !== 'string')
      throw attempt.malformed(`the message content is a ${typeof message.content}, not a string`);
    const toolCalls: ToolCall[] = [];
    for (const call of message.tool_calls ?? []) {
      if (call.type === 'function') {
        toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
      }
    }
    const refused = typeof message.refusal === 'string' && message.refusal !== '';
    return {
      id: completion.id,
      // A refusal carries its explanation in `refusal`, not in `content`; keep it so the caller can show it.
      text: message.content ?? (refused ? (message.refusal as string) : ''),
      toolCalls,
      finishReason: refused ? 'refusal' : mapOpenAIFinishReason(choice.finish_reason),
      usage: toUsage(completion.usage),
      model: completion.model,
    };
  }

  async *stream(request: ChatRequest, context: AttemptContext): AsyncIterable<ProviderStreamEvent> {
    const attempt = new Attempt(context, this.info, true);
    const body = {
      ...this.buildParams(request, context),
      stream: true,
      stream_options: { include_usage: true },
    } as unknown as ChatCompletionCreateParamsStreaming;
    for (const name of context.rewriteParams ?? []) {
      if (name === 'stream_options') delete (body as unknown as Record<string, unknown>).stream_options;
    }
    const sdkStream = await attempt.run((options) => this.client.chat.completions.create(body, options));

    const calls = new Map<number, ToolCall>();
    let finishReason: FinishReason | undefined;
    let refused = false;
    let id: string | undefined;
    let model: string | undefined;
    for await (const chunk of attempt.iterate<ChatCompletionChunk>(sdkStream)) {
      // The SDK yields whatever JSON a `data:` line held; `data: null` must be skipped like any other
      // chunk without choices, not crash on `chunk.id` (found by core/test/hardening/properties.test.ts).
      if (typeof chunk !== 'object' || chunk === null) continue;
      id ??= chunk.id;
      model ??= chunk.model;
      if (chunk.usage) yield { type: 'usage', usage: toUsage(chunk.usage) };
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta;
      if (delta?.content != null && typeof delta.content !== 'string')
        throw attempt.malformed(`a delta's content is a ${typeof delta.content}, not a string`);
      if (delta?.content) yield { type: 'text-delta', text: delta.content };
      if (delta?.refusal) {
        refused = true;
        yield { type: 'text-delta', text: delta.refusal };
      }
      for (const part of delta?.tool_calls ?? []) {
        const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
        calls.set(part.index, call);
      }
      if (choice.finish_reason) {
        finishReason = refused ? 'refusal' : mapOpenAIFinishReason(choice.finish_reason);
        for (const index of [...calls.keys()].sort((a, b) => a - b)) {
          yield { type: 'tool-call', call: calls.get(index) as ToolCall };
        }
        calls.clear();
      }
    }
    // The SDK ends quietly when `data: [DONE]` never came; a finish_reason is the only proof the answer is whole.
    if (finishReason === undefined) throw attempt.cut('a finish_reason arrived');
    yield { type: 'finish', finishReason, ...(id && { id }), ...(model && { model }) };
  }

  /** `POST /v1/embeddings`; the SDK asks for base64 and decodes it to floats. */
  async embed(request: EmbedRequest, context: AttemptContext): Promise<EmbedResult> {
    const attempt = new Attempt(context, this.info);
    const response = await attempt.run((options) =>
      this.client.embeddings.create(
        {
          model: this.deployment.model,
          input: request.input,
          ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
        },
        options,
      ),
    );
    const embeddings = [...(response?.data ?? [])]
      .sort((a, b) => a.index - b.index)
      .map((item) => item.embedding);
    return {
      embeddings,
      usage: { inputTokens: response?.usage?.prompt_tokens ?? 0, outputTokens: 0, cachedInputTokens: 0 },
      model: response?.model ?? this.deployment.model,
    };
  }
}
