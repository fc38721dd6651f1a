import type { Ollama, ChatRequest as OllamaChatRequest, ChatResponse as OllamaChatResponse } from 'ollama';
import { loadOllama } from '../../lazy.ts';
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
  Usage,
} from '../types.ts';
import type { AttemptContext, ProviderAdapter } from './adapter.ts';
import { Attempt, type AttemptInfo } from './attempt.ts';
import { createHookedFetch, runInAttempt } from './http-hooks.ts';
import { normalizePayloadError } from './normalize-error.ts';
import { effectiveMaxTokens, type ProviderClientOptions } from './shared.ts';

export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';

/** What ollama-js throws when an NDJSON stream ends without a `done: true` line. */
const STREAM_CUT_MESSAGE = 'Did not receive done or success response in stream.';

// Parameters that are not in `options` but at the top level of /api/chat.
const TOP_LEVEL_PARAMS = new Set(['format', 'tools']);

export function mapOllamaDoneReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  // Ollama reports done_reason 'stop' even when the turn ended in tool calls.
  if (hasToolCalls) return 'tool_calls';
  if (reason === 'length') return 'length';
  if (reason === 'stop' || reason === undefined || reason === '') return 'stop';
  return 'other';
}

function parseArguments(call: ToolCall, deployment: string): Record<string, unknown> {
  try {
    return call.arguments.trim() === '' ? {} : (JSON.parse(call.arguments) as Record<string, unknown>);
  } catch (error) {
    throw new SwitchyardError('bad_request', {
      message: `ollama: the arguments of tool call ${call.id} are not valid JSON`,
      provider: 'ollama',
      deployment,
      cause: error,
    });
  }
}

function toUsage(response: Partial<OllamaChatResponse>): Usage {
  return {
    inputTokens: response.prompt_eval_count ?? 0,
    outputTokens: response.eval_count ?? 0,
    cachedInputTokens: 0,
  };
}

/** Ollama tool calls carry no id; give each a stable one so tool results can refer to it. */
function toToolCalls(response: Partial<OllamaChatResponse>, offset = 0): ToolCall[] {
  return (response.message?.tool_calls ?? []).map((call, i) => ({
    id: `call_${offset + i}`,
    name: call.function.name,
    arguments: JSON.stringify(call.function.arguments ?? {}),
  }));
}

/**
 * Adapter over the official `ollama` client (/api/chat). ollama-js has no retries and no timeout of its own,
 * so nothing needs turning off; the attempt signal reaches its fetch through the hook. Note: ollama-js skips a
 * malformed NDJSON line silently (console.warn, then carries on), so a garbled line in the middle of a stream
 * is invisible here; only a stream that never reaches `done: true` is detected.
 */
export class OllamaAdapter implements ProviderAdapter {
  readonly provider: ProviderKind = 'ollama';
  readonly model: string;
  readonly client: Ollama;
  private readonly deployment: DeploymentConfig;
  private readonly info: AttemptInfo;

  constructor(deployment: DeploymentConfig, options: ProviderClientOptions = {}) {
    this.deployment = deployment;
    this.model = deployment.model;
    this.info = { provider: 'ollama', deployment: deployment.id, secrets: [options.apiKey] };
    const headers: Record<string, string> = { ...deployment.headers };
    // Ollama's cloud and authenticating proxies take a bearer token; a local server ignores it.
    if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
    // The SDK is loaded when the first deployment of this provider is built, not on import.
    this.client = new (loadOllama().Ollama)({
      host: deployment.baseURL ?? DEFAULT_OLLAMA_HOST,
      fetch: createHookedFetch(options),
      headers,
    });
  }

  private toWireMessages(messages: readonly ChatMessage[]): OllamaChatRequest['messages'] {
    const names = new Map<string, string>();
    return messages.map((message) => {
      if (message.role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) {
        for (const call of message.toolCalls) names.set(call.id, call.name);
        return {
          role: 'assistant',
          content: message.content,
          tool_calls: message.toolCalls.map((call) => ({
            function: { name: call.name, arguments: parseArguments(call, this.deployment.id) },
          })),
        };
      }
      if (message.role === 'tool') {
        // Ollama matches a result to its call by tool name, not by id.
        const toolName = message.toolCallId ? names.get(message.toolCallId) : undefined;
        return { role: 'tool', content: message.content, ...(toolName && { tool_name: toolName }) };
      }
      return { role: message.role, content: message.content };
    });
  }

  /** The exact /api/chat body for a request (exported for tests and traces). */
  buildParams(
    request: ChatRequest,
    context: Pick<AttemptContext, 'rewriteParams'> = {},
  ): Record<string, unknown> {
    const options: Record<string, unknown> = {};
    if (request.temperature !== undefined) options.temperature = request.temperature;
    const maxTokens = effectiveMaxTokens(request, this.deployment);
    if (maxTokens !== undefined) options.num_predict = maxTokens;
    if (request.stop && request.stop.length > 0) options.stop = request.stop;
    const params: Record<string, unknown> = {
      model: this.deployment.model,
      messages: this.toWireMessages(request.messages),
    };
    if (request.responseFormat === 'json') params.format = 'json';
    // Ollama has no tool_choice: 'none' is honoured by not offering the tools; other choices cannot be forced.
    if (request.tools && request.tools.length > 0 && request.toolChoice !== 'none') {
      params.tools = request.tools.map((tool) => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          parameters: tool.parameters,
        },
      }));
    }
    for (const name of context.rewriteParams ?? []) {
      // Accept both the wire name and the unified one ('max_tokens' means num_predict here).
      const key = name === 'max_tokens' || name === 'max_completion_tokens' ? 'num_predict' : name;
      if (TOP_LEVEL_PARAMS.has(key)) delete params[key];
      else delete options[key];
    }
    if (Object.keys(options).length > 0) params.options = options;
    return params;
  }

  /** A 200 body or NDJSON line of the form {"error": "..."}. */
  private payloadError(attempt: Attempt, message: string): SwitchyardError {
    return normalizePayloadError({ message }, attempt.normalizeContext);
  }

  // Not async: a suspended async function is one more frame held per call in flight.
  complete(request: ChatRequest, context: AttemptContext): Promise<ProviderResult> {
    const attempt = new Attempt(context, this.info);
    const body = { ...this.buildParams(request, context), stream: false } as OllamaChatRequest & {
      stream: false;
    };
    return attempt.run(
      () => runInAttempt(attempt.state, () => this.client.chat(body)),
      (response) => this.#result(response, attempt),
    );
  }

  #result(response: OllamaChatResponse, attempt: Attempt): ProviderResult {
    // A 200 whose JSON body is null (or any non-object) must be a malformed_response, not a TypeError
    // on `raw.error` (found by core/test/hardening/properties.test.ts).
    const raw = (
      typeof response === 'object' && response !== null ? response : {}
    ) as Partial<OllamaChatResponse> & {
      error?: unknown;
    };
    if (typeof raw.error === 'string') throw this.payloadError(attempt, raw.error);
    if (!raw.message || typeof raw.message.content !== 'string') {
      throw new SwitchyardError('malformed_response', {
        message: 'ollama: the response has no message',
        provider: 'ollama',
        deployment: this.deployment.id,
        status: attempt.state.response?.status,
      });
    }
    const toolCalls = toToolCalls(raw);
    return {
      // /api/chat responses carry no id; created_at is the closest stable identifier.
      id: `ollama-${String(raw.created_at ?? Date.now())}`,
      text: raw.message.content,
      toolCalls,
      finishReason: mapOllamaDoneReason(raw.done_reason, toolCalls.length > 0),
      usage: toUsage(raw),
      model: raw.model ?? this.deployment.model,
    };
  }

  async *stream(request: ChatRequest, context: AttemptContext): AsyncIterable<ProviderStreamEvent> {
    const attempt = new Attempt(context, this.info, true);
    const body = { ...this.buildParams(request, context), stream: true } as OllamaChatRequest & {
      stream: true;
    };
    const sdkStream = await attempt.run(() => runInAttempt(attempt.state, () => this.client.chat(body)));

    // ollama-js turns an NDJSON {"error": "..."} line into a plain Error and a missing done line into another;
    // transport failures arrive as TypeError/DOMException, so a plain Error here is one of those two.
    const mapError = (error: unknown): SwitchyardError | undefined => {
      if (!(error instanceof Error) || error.constructor !== Error) return undefined;
      if (error.message === STREAM_CUT_MESSAGE) return attempt.cut('a line with done: true');
      return this.payloadError(attempt, error.message);
    };

    let toolCount = 0;
    let done = false;
    try {
      for await (const chunk of attempt.iterate<OllamaChatResponse>(sdkStream, mapError)) {
        if (chunk.message?.content != null && typeof chunk.message.content !== 'string')
          throw attempt.malformed(
            `a line's message content is a ${typeof chunk.message.content}, not a string`,
          );
        if (chunk.message?.content) yield { type: 'text-delta', text: chunk.message.content };
        for (const call of toToolCalls(chunk, toolCount)) {
          toolCount++;
          yield { type: 'tool-call', call };
        }
        if (chunk.done) {
          done = true;
          yield { type: 'usage', usage: toUsage(chunk) };
          yield {
            type: 'finish',
            finishReason: mapOllamaDoneReason(chunk.done_reason, toolCount > 0),
            model: chunk.model ?? this.deployment.model,
          };
        }
      }
    } finally {
      // Left early (the consumer stopped reading, or an error): ollama-js does not cancel the HTTP request
      // when its iterator is closed, only on abort(), which the hooked fetch follows for streams.
      if (!done) sdkStream.abort();
      // ollama-js drops a streamed request from client.ongoingStreamedRequests only when its done line
      // arrives: one that errored, was cut or was abandoned stayed there for the client's lifetime,
      // pinning its AbortController, iterator and response (found by core/test/hardening/soak.test.ts).
      const ongoing = (this.client as unknown as { ongoingStreamedRequests?: unknown[] })
        .ongoingStreamedRequests;
      const index = ongoing?.indexOf(sdkStream) ?? -1;
      if (index >= 0) ongoing?.splice(index, 1);
    }
    // The SDK already throws on a missing done line; this guards against a future SDK that does not.
    if (!done) throw attempt.cut('a line with done: true');
  }
}
