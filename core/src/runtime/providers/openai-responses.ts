import type {
  Response as OpenAIResponse,
  ResponseCreateParamsNonStreaming,
  ResponseCreateParamsStreaming,
  ResponseInputItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { SwitchyardError } from '../errors.ts';
import type {
  ChatMessage,
  ChatRequest,
  FinishReason,
  ProviderResult,
  ProviderStreamEvent,
  ToolCall,
  Usage,
} from '../types.ts';
import type { AttemptContext } from './adapter.ts';
import { Attempt } from './attempt.ts';
import { isReasoningModel, OpenAIAdapter } from './openai.ts';
import { effectiveMaxTokens } from './shared.ts';

/** The API refuses max_output_tokens below 16. */
const MIN_OUTPUT_TOKENS = 16;

/** Parameters an adapter must always send; rewriteParams never removes them. */
const REQUIRED_PARAMS = new Set(['model', 'input', 'stream']);

function toInput(messages: readonly ChatMessage[]): { instructions?: string; input: ResponseInputItem[] } {
  const system: string[] = [];
  const input: ResponseInputItem[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        input.push({ role: 'user', content: message.content });
        break;
      case 'tool':
        input.push({
          type: 'function_call_output',
          call_id: message.toolCallId ?? '',
          output: message.content,
        });
        break;
      case 'assistant':
        if (message.content !== '') input.push({ role: 'assistant', content: message.content });
        for (const call of message.toolCalls ?? []) {
          input.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments });
        }
        break;
    }
  }
  return { ...(system.length > 0 ? { instructions: system.join('\n\n') } : {}), input };
}

function toUsage(usage: OpenAIResponse['usage'] | null | undefined): Usage {
  return {
    inputTokens: usage?.input_tokens ?? 0,
    outputTokens: usage?.output_tokens ?? 0,
    cachedInputTokens: usage?.input_tokens_details?.cached_tokens ?? 0,
  };
}

/** What a finished Response says about how the answer ended. */
function finishOf(response: OpenAIResponse, toolCalls: number, refused: boolean): FinishReason {
  if (refused) return 'refusal';
  if (response.status === 'incomplete') {
    const reason = response.incomplete_details?.reason;
    return reason === 'max_output_tokens'
      ? 'length'
      : reason === 'content_filter'
        ? 'content_filter'
        : 'other';
  }
  if (response.status !== 'completed') return 'other';
  return toolCalls > 0 ? 'tool_calls' : 'stop';
}

/** Text, refusal and function calls of a Response's output items. */
function readOutput(response: OpenAIResponse): { text: string; refusal: string; toolCalls: ToolCall[] } {
  let text = '';
  let refusal = '';
  const toolCalls: ToolCall[] = [];
  for (const item of response.output ?? []) {
    if (item.type === 'message') {
      for (const part of item.content) {
        if (part.type === 'output_text') text += part.text;
        else if (part.type === 'refusal') refusal += part.refusal;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
    }
  }
  return { text, refusal, toolCalls };
}

/**
 * An OpenAI deployment called through the Responses API (`api: responses`): the same SDK client,
 * keys, deadlines and error mapping as the Chat Completions adapter, another wire format. Stateless
 * (`store: false`, the whole conversation sent each time). The Responses API has no stop sequences:
 * `stop` is not sent.
 */
export class OpenAIResponsesAdapter extends OpenAIAdapter {
  /** The exact responses.create body for a request (exported for tests and traces). */
  override buildParams(
    request: ChatRequest,
    context: Pick<AttemptContext, 'rewriteParams'> = {},
  ): Record<string, unknown> {
    const rewrite = new Set(context.rewriteParams ?? []);
    const reasoning = isReasoningModel(this.deployment);
    const params: Record<string, unknown> = {
      model: this.deployment.model,
      ...toInput(request.messages),
      store: false,
    };
    if (request.temperature !== undefined && !reasoning) params.temperature = request.temperature;
    const maxTokens = effectiveMaxTokens(request, this.deployment);
    if (maxTokens !== undefined) params.max_output_tokens = Math.max(MIN_OUTPUT_TOKENS, maxTokens);
    if (request.responseFormat === 'json') params.text = { format: { type: 'json_object' } };
    if (request.tools && request.tools.length > 0) {
      params.tools = request.tools.map((tool) => ({
        type: 'function',
        name: tool.name,
        ...(tool.description !== undefined && { description: tool.description }),
        parameters: tool.parameters,
        strict: false,
      }));
      const choice = request.toolChoice;
      if (choice !== undefined) {
        params.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
      }
    }
    for (const name of rewrite) if (!REQUIRED_PARAMS.has(name)) delete params[name];
    return params;
  }

  override async complete(request: ChatRequest, context: AttemptContext): Promise<ProviderResult> {
    const attempt = new Attempt(context, this.info);
    const body = this.buildParams(request, context) as unknown as ResponseCreateParamsNonStreaming;
    const response = await attempt.run((options) => this.client.responses.create(body, options));
    if (!response || !Array.isArray(response.output)) {
      throw new SwitchyardError('malformed_response', {
        message: `${this.provider}: the response has no output`,
        provider: this.provider,
        deployment: this.deployment.id,
        status: attempt.state.response?.status,
      });
    }
    this.#throwIfFailed(response, attempt);
    const { text, refusal, toolCalls } = readOutput(response);
    return {
      id: response.id,
      text: text || refusal,
      toolCalls,
      finishReason: finishOf(response, toolCalls.length, refusal !== '' && text === ''),
      usage: toUsage(response.usage),
      model: response.model,
    };
  }

  override async *stream(request: ChatRequest, context: AttemptContext): AsyncIterable<ProviderStreamEvent> {
    const attempt = new Attempt(context, this.info, true);
    const body = {
      ...this.buildParams(request, context),
      stream: true,
    } as unknown as ResponseCreateParamsStreaming;
    const sdkStream = await attempt.run((options) => this.client.responses.create(body, options));
    let refused = false;
    let calls = 0;
    for await (const event of attempt.iterate<ResponseStreamEvent>(sdkStream)) {
      if (typeof event !== 'object' || event === null) continue;
      switch (event.type) {
        case 'response.output_text.delta':
          if (event.delta) yield { type: 'text-delta', text: event.delta };
          break;
        case 'response.refusal.delta':
          refused = true;
          if (event.delta) yield { type: 'text-delta', text: event.delta };
          break;
        case 'response.output_item.done':
          if (event.item.type === 'function_call') {
            calls++;
            const { call_id, name, arguments: args } = event.item;
            yield { type: 'tool-call', call: { id: call_id, name, arguments: args } };
          }
          break;
        case 'response.failed':
          this.#throwIfFailed(event.response, attempt);
          break;
        case 'response.completed':
        case 'response.incomplete': {
          const response = event.response;
          yield { type: 'usage', usage: toUsage(response.usage) };
          yield {
            type: 'finish',
            finishReason: finishOf(response, calls, refused),
            id: response.id,
            model: response.model,
          };
          return;
        }
        case 'error':
          throw new SwitchyardError('server_error', {
            message: `${this.provider}: error event in the stream: ${event.message}`,
            provider: this.provider,
            deployment: this.deployment.id,
            ...(event.code ? { code: event.code } : {}),
          });
      }
    }
    // Without response.completed (or .incomplete) the answer is not known to be whole.
    throw attempt.cut('response.completed arrived');
  }

  /** A Response whose status is `failed` carries the error the API met while generating. */
  #throwIfFailed(response: OpenAIResponse, attempt: Attempt): void {
    if (response.status !== 'failed') return;
    throw new SwitchyardError('server_error', {
      message: `${this.provider}: the response failed: ${response.error?.message ?? 'unknown error'}`,
      provider: this.provider,
      deployment: this.deployment.id,
      status: attempt.state.response?.status,
      ...(response.error?.code ? { code: response.error.code } : {}),
    });
  }
}
