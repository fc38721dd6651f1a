import type { Call, RateLimitState } from './call.ts';
import { streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import { chunkPieces, estimateInputTokens, generate } from './content.ts';
import { tokenTimeMs } from './latency.ts';
import { handleEmbeddings } from './openai-embeddings.ts';
import { handleResponses } from './openai-responses.ts';
import {
  type Body,
  baseHeaders,
  checkAuth,
  checkParamRules,
  type FunctionTool,
  invalid,
  json,
  modelNotFound,
  pickTool,
  readBody,
  reasoningTokens,
  requestModel,
  type TokenLogprob,
  tokenLogprobs,
  withRateHeaders,
} from './openai-shared.ts';
import { deriveSeed, Rng } from './random.ts';
import { encodeSse, modelIdOfPath, SSE_CONTENT_TYPE, SSE_DONE } from './wire.ts';

const ENDPOINTS: Record<string, (call: Call) => Promise<Response>> = {
  '/v1/chat/completions': chatCompletion,
  '/v1/responses': handleResponses,
  '/v1/embeddings': handleEmbeddings,
};

export async function handleOpenAI(call: Call): Promise<Response> {
  const { pathname } = call;
  const method = call.request.method.toUpperCase();
  const endpoint = ENDPOINTS[pathname];
  const known = endpoint || pathname === '/v1/models' || pathname.startsWith('/v1/models/');
  if (!known) return invalid(call, `Invalid URL (${method} ${pathname})`, null, null, 404);
  const denied = checkAuth(call);
  if (denied) return denied;
  if (endpoint) {
    if (method !== 'POST')
      return invalid(call, `Invalid method for URL (${method} ${pathname})`, null, null, 405);
    return endpoint(call);
  }
  if (method !== 'GET')
    return invalid(call, `Invalid method for URL (${method} ${pathname})`, null, null, 405);
  const models = Object.entries(call.models).filter(([, spec]) => spec.provider === 'openai');
  const entries = models.flatMap(([id, spec]) =>
    [id, ...(spec.servedAs ? [spec.servedAs] : [])].map((name) => ({
      id: name,
      object: 'model',
      created: spec.created ?? 1_700_000_000,
      owned_by: 'system',
    })),
  );
  if (pathname === '/v1/models') return json(call, { object: 'list', data: entries }, 0);
  const wanted = modelIdOfPath(pathname);
  if (wanted === undefined)
    return invalid(call, 'Invalid URL: the model id is not a valid percent-encoded path');
  const found = entries.find((entry) => entry.id === wanted);
  if (!found) return modelNotFound(call, wanted);
  return json(call, found, 0);
}

interface OpenAITool {
  type?: string;
  function?: { name?: string; parameters?: JsonSchema };
}

/** Which tool (if any) the simulated model calls. `auto` calls the first tool when the user spoke last. */
function chooseTool(body: Body): FunctionTool | undefined {
  const tools = (Array.isArray(body.tools) ? body.tools : []) as OpenAITool[];
  const functions = tools
    .map((t) => t.function)
    .filter((f): f is { name: string; parameters?: JsonSchema } => !!f?.name);
  const choice = body.tool_choice as unknown;
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string }>) : [];
  return pickTool(
    functions,
    choice && typeof choice === 'object'
      ? { name: (choice as { function?: { name?: string } }).function?.name }
      : choice === 'none' || choice === 'required'
        ? choice
        : 'auto',
    messages.at(-1)?.role === 'user',
  );
}

function jsonMode(body: Body): true | JsonSchema | undefined {
  const format = body.response_format as { type?: string; json_schema?: { schema?: JsonSchema } } | undefined;
  if (format?.type === 'json_object') return true;
  if (format?.type === 'json_schema') return format.json_schema?.schema ?? true;
  return undefined;
}

const FINISH = { end: 'stop', stop_sequence: 'stop', length: 'length', tool: 'tool_calls' } as const;

async function chatCompletion(call: Call): Promise<Response> {
  const body = await readBody(call);
  if (body instanceof Response) return body;
  // Everything from here to the wait is synchronous, in a function of its own: what waits is only
  // what the reply needs (CompletionPlan), not the parsed body, the generation's pieces and the rest
  // of this frame (an async function keeps every local it has until it returns): 0.8 KB less per
  // waiting request in bench/benches/scale.ts.
  return respond(call, body);
}

/** One choice of the answer (`n` of them); logprobs only when asked for. */
interface Choice {
  generation: Generation;
  logprobs: TokenLogprob[] | undefined;
}

function respond(call: Call, body: Body): Response | Promise<Response> {
  const found = requestModel(call, 'chat', body);
  if (found instanceof Response) return found;
  const { id: modelId, spec } = found;
  if (body.messages === undefined) {
    return invalid(call, "Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return invalid(
      call,
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  const rejected = checkParamRules(call, spec.rejectedParams ?? [], body);
  if (rejected) return rejected;
  if (body.reasoning_effort != null && !spec.reasoning) {
    return invalid(
      call,
      "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
      'reasoning_effort',
      'unsupported_parameter',
    );
  }
  const n = body.n == null ? 1 : Number(body.n);
  if (!Number.isInteger(n) || n < 1 || n > 128) {
    return invalid(
      call,
      `Invalid 'n': integer below minimum value. Expected a value >= 1 and <= 128, but got ${String(body.n)} instead.`,
      'n',
      'integer_below_min_value',
    );
  }
  const topLogprobs = body.top_logprobs == null ? 0 : Number(body.top_logprobs);
  if (topLogprobs > 0 && body.logprobs !== true) {
    return invalid(
      call,
      'Using top_logprobs requires logprobs to be set to true.',
      'top_logprobs',
      'invalid_value',
    );
  }

  const maxParam =
    body.max_completion_tokens != null
      ? 'max_completion_tokens'
      : body.max_tokens != null
        ? 'max_tokens'
        : undefined;
  const maxTokens = maxParam ? Number(body[maxParam]) : undefined;
  if (maxParam && maxTokens !== undefined && maxTokens > spec.maxOutputTokens) {
    return invalid(
      call,
      `${maxParam} is too large: ${maxTokens}. This model supports at most ${spec.maxOutputTokens} completion tokens, whereas you provided ${maxTokens}.`,
      maxParam,
      'invalid_value',
    );
  }
  const tools = Array.isArray(body.tools) ? [JSON.stringify(body.tools)] : [];
  const inputTokens = estimateInputTokens(body.messages, tools);
  if (inputTokens > spec.contextWindow) {
    return invalid(
      call,
      `This model's maximum context length is ${spec.contextWindow} tokens. However, your messages resulted in ${inputTokens} tokens. Please reduce the length of the messages.`,
      'messages',
      'context_length_exceeded',
    );
  }

  const tool = chooseTool(body);
  const jsonFormat = jsonMode(body);
  const stop =
    typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? (body.stop as string[]) : [];
  // Content depends on the prompt, not on limits: a lower max_tokens truncates the same text.
  const contentKey = {
    model: modelId,
    messages: body.messages,
    tools: body.tools,
    json: jsonFormat,
    tool: tool?.name,
  };
  const choices: Choice[] = [];
  for (let index = 0; index < n; index++) {
    // The first choice is what a request without `n` gets; the others vary the key.
    const seed = call.contentSeed(index === 0 ? contentKey : { ...contentKey, choice: index });
    const reasoning = reasoningTokens(call, spec, body.reasoning_effort, maxTokens);
    const generation = generate({
      seed,
      rng: call.rng,
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      stop,
      ...(jsonFormat ? { json: jsonFormat } : {}),
      ...(tool ? { tool } : {}),
      ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
    });
    const logprobs =
      body.logprobs === true && !tool
        ? tokenLogprobs(generation.pieces, new Rng(deriveSeed(seed, 0x10b)), topLogprobs)
        : undefined;
    choices.push({ generation, logprobs });
  }
  const first = choices[0]!.generation;
  const longest = Math.max(...choices.map((c) => c.generation.outputTokens));
  const reasoningTotal = choices.reduce((sum, c) => sum + c.generation.reasoningTokens, 0);
  const outputTotal = choices.reduce((sum, c) => sum + c.generation.outputTokens, 0);

  const sample = call.latency(modelId, spec);
  // Hidden reasoning happens before the first visible token.
  const ttft = sample.ttftMs + tokenTimeMs(first.reasoningTokens, sample);
  const perToken = tokenTimeMs(1, sample);
  const model = spec.servedAs ?? (body.model as string);
  const id = `chatcmpl-${call.rng.string(29)}`;
  const created = Math.floor(call.clock.now() / 1000);
  const fingerprint = `fp_${call.rng.hex(10)}`;
  const rate = call.rateLimit(modelId, spec, inputTokens + (maxTokens ?? first.outputTokens));
  const toolCallIds = tool ? choices.map(() => `call_${call.rng.string(24)}`) : undefined;
  const usage = usageOf(inputTokens, { outputTokens: outputTotal, reasoningTokens: reasoningTotal });

  if (body.stream === true) {
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const headers = withRateHeaders(baseHeaders(call, ttft), rate);
    headers.set('content-type', SSE_CONTENT_TYPE);
    const frames = streamFrames(call, {
      choices,
      ttft,
      perToken,
      includeUsage,
      usage,
      base: {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: 'default',
        system_fingerprint: fingerprint,
      },
      toolCallIds,
    });
    return streamResponse(call, frames, 200, headers);
  }

  return completeAfter(call, {
    total: ttft + perToken * Math.max(0, longest - 1),
    id,
    created,
    model,
    fingerprint,
    choices: choices.map(({ generation, logprobs }, index) => ({
      text: generation.text,
      finish: generation.finish,
      logprobs,
      ...(tool ? { tool: { name: tool.name, callId: toolCallIds![index]! } } : {}),
    })),
    usage,
    rate,
  });
}

/** What a non-streamed reply needs after its wait. */
interface CompletionPlan {
  total: number;
  id: string;
  created: number;
  model: string;
  fingerprint: string;
  choices: Array<{
    text: string;
    finish: Generation['finish'];
    logprobs: TokenLogprob[] | undefined;
    tool?: { name: string; callId: string };
  }>;
  usage: ReturnType<typeof usageOf>;
  rate: RateLimitState;
}

async function completeAfter(call: Call, plan: CompletionPlan): Promise<Response> {
  await call.wait(plan.total);
  const choices = plan.choices.map(({ text, finish, logprobs, tool }, index) => {
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: tool ? null : text,
      refusal: null,
      annotations: [],
    };
    if (tool) {
      message.tool_calls = [
        { id: tool.callId, type: 'function', function: { name: tool.name, arguments: text } },
      ];
    }
    return {
      index,
      message,
      logprobs: logprobs ? { content: logprobs, refusal: null } : null,
      finish_reason: FINISH[finish],
    };
  });
  const response = {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices,
    usage: plan.usage,
    service_tier: 'default',
    system_fingerprint: plan.fingerprint,
  };
  return json(call, response, plan.total, withRateHeaders(baseHeaders(call, plan.total), plan.rate));
}

function usageOf(inputTokens: number, generation: Pick<Generation, 'outputTokens' | 'reasoningTokens'>) {
  const completion = generation.outputTokens + generation.reasoningTokens;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: completion,
    total_tokens: inputTokens + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: generation.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

interface StreamPlan {
  choices: Choice[];
  ttft: number;
  perToken: number;
  includeUsage: boolean;
  usage: ReturnType<typeof usageOf>;
  base: Record<string, unknown>;
  toolCallIds: string[] | undefined;
}

async function* streamFrames(call: Call, plan: StreamPlan): AsyncGenerator<string> {
  const { base } = plan;
  const usageField = plan.includeUsage ? { usage: null } : {};
  const chunk = (
    index: number,
    delta: Record<string, unknown>,
    finish: string | null = null,
    logprobs: TokenLogprob[] | null = null,
  ) =>
    encodeSse({
      ...base,
      choices: [
        {
          index,
          delta,
          logprobs: logprobs ? { content: logprobs, refusal: null } : null,
          finish_reason: finish,
        },
      ],
      ...usageField,
      obfuscation: call.rng.string(call.rng.int(2, 12)),
    });
  const toolDelta = (index: number, args: string, first: boolean) => ({
    tool_calls: [
      first
        ? {
            index: 0,
            id: plan.toolCallIds![index],
            type: 'function',
            function: { name: plan.choices[index]!.generation.toolName, arguments: args },
          }
        : { index: 0, function: { arguments: args } },
    ],
  });

  await call.wait(plan.ttft);
  // The role chunks and the first tokens leave together, after TTFT.
  let frame = '';
  for (const [index, { generation }] of plan.choices.entries()) {
    frame += generation.toolName
      ? chunk(index, { role: 'assistant', content: null, ...toolDelta(index, '', true), refusal: null })
      : chunk(index, { role: 'assistant', content: '', refusal: null });
  }
  // One delta per token and choice, the choices interleaved as the API interleaves them.
  const streams = plan.choices.map(({ generation, logprobs }) => ({
    generation,
    logprobs,
    chunks: chunkPieces(generation.pieces, () => 1),
  }));
  const steps = Math.max(...streams.map((s) => s.chunks.length));
  for (let step = 0; step < steps; step++) {
    if (step > 0) {
      yield frame;
      frame = '';
      await call.wait(plan.perToken);
    }
    for (const [index, { generation, logprobs, chunks }] of streams.entries()) {
      const piece = chunks[step];
      if (!piece) continue;
      frame += generation.toolName
        ? chunk(index, toolDelta(index, piece.text, false))
        : chunk(index, { content: piece.text }, null, logprobs ? logprobs.slice(step, step + 1) : null);
    }
  }
  for (const [index, { generation }] of plan.choices.entries()) {
    frame += chunk(index, {}, FINISH[generation.finish]);
  }
  if (plan.includeUsage) {
    frame += encodeSse({ ...base, choices: [], usage: plan.usage, obfuscation: call.rng.string(8) });
  }
  frame += SSE_DONE;
  yield frame;
}
