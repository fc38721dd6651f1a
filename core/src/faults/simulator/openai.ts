import type { Call, RateLimitState } from './call.ts';
import { formatResetDuration, streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import { chunkPieces, estimateInputTokens, generate } from './content.ts';
import { tokenTimeMs } from './latency.ts';
import type { ParamRule } from './models.ts';
import { lookupModel } from './models.ts';
import type { ErrorSpec } from './wire.ts';
import {
  encodeSse,
  errorResponse,
  JSON_CONTENT_TYPE,
  modelIdOfPath,
  openaiRequestId,
  SSE_CONTENT_TYPE,
  SSE_DONE,
} from './wire.ts';

type Body = Record<string, unknown>;

const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

const MISSING_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.";

function fail(call: Call, status: number, spec: Omit<ErrorSpec, 'requestId'>): Response {
  return errorResponse('openai', status, { ...spec, requestId: openaiRequestId(call.rng) });
}

const invalid = (
  call: Call,
  message: string,
  param: string | null = null,
  code: string | null = null,
  status = 400,
) => fail(call, status, { type: 'invalid_request_error', message, param, code });

function maskKey(key: string): string {
  if (key.length <= 12) return `${key.slice(0, 3)}${'*'.repeat(Math.max(0, key.length - 3))}`;
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

function checkAuth(call: Call): Response | undefined {
  const header = call.request.headers.get('authorization') ?? '';
  const key = /^Bearer\s+(.*)$/i.exec(header)?.[1]?.trim() ?? '';
  if (!key) return invalid(call, MISSING_KEY, null, null, 401);
  if (!call.accepts('openai', key)) {
    return invalid(
      call,
      `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      null,
      'invalid_api_key',
      401,
    );
  }
  return undefined;
}

export async function handleOpenAI(call: Call): Promise<Response> {
  const { pathname } = call;
  const method = call.request.method.toUpperCase();
  const known =
    pathname === '/v1/chat/completions' || pathname === '/v1/models' || pathname.startsWith('/v1/models/');
  if (!known) return invalid(call, `Invalid URL (${method} ${pathname})`, null, null, 404);
  const denied = checkAuth(call);
  if (denied) return denied;
  if (pathname === '/v1/chat/completions') {
    if (method !== 'POST')
      return invalid(call, `Invalid method for URL (${method} ${pathname})`, null, null, 405);
    return chatCompletion(call);
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

function modelNotFound(call: Call, model: string): Response {
  return invalid(
    call,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    null,
    'model_not_found',
    404,
  );
}

function json(call: Call, body: unknown, processingMs: number, extra?: Headers): Response {
  const headers = extra ?? baseHeaders(call, processingMs);
  headers.set('content-type', JSON_CONTENT_TYPE);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

function baseHeaders(call: Call, processingMs: number): Headers {
  return new Headers({
    'openai-version': '2020-10-01',
    'openai-organization': 'switchyard-sim',
    'openai-processing-ms': String(Math.round(processingMs)),
    'x-request-id': openaiRequestId(call.rng),
  });
}

function checkParamRules(call: Call, rules: readonly ParamRule[], body: Body): Response | undefined {
  for (const rule of rules) {
    if (rule.kind === 'unsupported' && body[rule.param] !== undefined && body[rule.param] !== null) {
      const hint = rule.use ? ` Use '${rule.use}' instead.` : '';
      return invalid(
        call,
        `Unsupported parameter: '${rule.param}' is not supported with this model.${hint}`,
        rule.param,
        'unsupported_parameter',
      );
    }
    if (rule.kind === 'default-only') {
      const value = body[rule.param];
      if (typeof value === 'number' && value !== rule.defaultValue) {
        return invalid(
          call,
          `Unsupported value: '${rule.param}' does not support ${value} with this model. Only the default (${rule.defaultValue}) value is supported.`,
          rule.param,
          'unsupported_value',
        );
      }
    }
  }
  return undefined;
}

interface OpenAITool {
  type?: string;
  function?: { name?: string; parameters?: JsonSchema };
}

/** Which tool (if any) the simulated model calls. `auto` calls the first tool when the user spoke last. */
function chooseTool(body: Body): { name: string; parameters?: JsonSchema } | undefined {
  const tools = (Array.isArray(body.tools) ? body.tools : []) as OpenAITool[];
  const functions = tools
    .map((t) => t.function)
    .filter((f): f is NonNullable<OpenAITool['function']> => !!f?.name);
  if (functions.length === 0) return undefined;
  const choice = body.tool_choice as unknown;
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string }>) : [];
  let fn: (typeof functions)[number] | undefined;
  if (choice === 'none') return undefined;
  if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: string } }).function?.name;
    fn = functions.find((f) => f.name === name);
  } else if (choice === 'required' || messages.at(-1)?.role === 'user') {
    fn = functions[0];
  }
  return fn ? { name: fn.name!, ...(fn.parameters ? { parameters: fn.parameters } : {}) } : undefined;
}

function jsonMode(body: Body): true | JsonSchema | undefined {
  const format = body.response_format as { type?: string; json_schema?: { schema?: JsonSchema } } | undefined;
  if (format?.type === 'json_object') return true;
  if (format?.type === 'json_schema') return format.json_schema?.schema ?? true;
  return undefined;
}

const FINISH = { end: 'stop', stop_sequence: 'stop', length: 'length', tool: 'tool_calls' } as const;

async function chatCompletion(call: Call): Promise<Response> {
  let body: Body;
  try {
    body = JSON.parse(await call.request.text()) as Body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
  } catch {
    return invalid(call, INVALID_JSON);
  }
  // Everything from here to the wait is synchronous, in a function of its own: what waits is only
  // what the reply needs (CompletionPlan), not the parsed body, the generation's pieces and the rest
  // of this frame (an async function keeps every local it has until it returns): 0.8 KB less per
  // waiting request in bench/benches/scale.ts.
  return respond(call, body);
}

function respond(call: Call, body: Body): Response | Promise<Response> {
  if (typeof body.model !== 'string' || !body.model)
    return invalid(call, 'you must provide a model parameter');
  const found = lookupModel(call.models, 'openai', body.model);
  if (!found) return modelNotFound(call, body.model);
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
  const seed = call.contentSeed({
    model: modelId,
    messages: body.messages,
    tools: body.tools,
    json: jsonFormat,
    tool: tool?.name,
  });
  const generation = generate({
    seed,
    rng: call.rng,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    stop,
    ...(jsonFormat ? { json: jsonFormat } : {}),
    ...(tool ? { tool } : {}),
    ...(spec.reasoning ? { reasoningTokens: call.rng.int(64, 448) } : {}),
  });

  const sample = call.latency(modelId, spec);
  // Hidden reasoning happens before the first visible token.
  const ttft = sample.ttftMs + tokenTimeMs(generation.reasoningTokens, sample);
  const perToken = tokenTimeMs(1, sample);
  const model = spec.servedAs ?? body.model;
  const id = `chatcmpl-${call.rng.string(29)}`;
  const created = Math.floor(call.clock.now() / 1000);
  const fingerprint = `fp_${call.rng.hex(10)}`;
  const rate = call.rateLimit(modelId, spec, inputTokens + (maxTokens ?? generation.outputTokens));
  const toolCallId = tool ? `call_${call.rng.string(24)}` : undefined;

  if (body.stream === true) {
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const headers = withRateHeaders(baseHeaders(call, ttft), rate);
    headers.set('content-type', SSE_CONTENT_TYPE);
    const frames = streamFrames(call, {
      generation,
      ttft,
      perToken,
      includeUsage,
      usage: usageOf(inputTokens, generation),
      base: {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: 'default',
        system_fingerprint: fingerprint,
      },
      toolCallId,
    });
    return streamResponse(call, frames, 200, headers);
  }

  return completeAfter(call, {
    total: ttft + perToken * Math.max(0, generation.outputTokens - 1),
    id,
    created,
    model,
    fingerprint,
    text: generation.text,
    finish: generation.finish,
    inputTokens,
    outputTokens: generation.outputTokens,
    reasoningTokens: generation.reasoningTokens,
    rate,
    ...(tool ? { tool: { name: tool.name, callId: toolCallId! } } : {}),
  });
}

/** What a non-streamed reply needs after its wait. */
interface CompletionPlan {
  total: number;
  id: string;
  created: number;
  model: string;
  fingerprint: string;
  text: string;
  finish: Generation['finish'];
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  rate: RateLimitState;
  tool?: { name: string; callId: string };
}

async function completeAfter(call: Call, plan: CompletionPlan): Promise<Response> {
  await call.wait(plan.total);
  const { tool } = plan;
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: tool ? null : plan.text,
    refusal: null,
    annotations: [],
  };
  if (tool) {
    message.tool_calls = [
      { id: tool.callId, type: 'function', function: { name: tool.name, arguments: plan.text } },
    ];
  }
  const response = {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[plan.finish] }],
    usage: usageOf(plan.inputTokens, plan),
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

function withRateHeaders(headers: Headers, rate: RateLimitState): Headers {
  headers.set('x-ratelimit-limit-requests', String(rate.requestsLimit));
  headers.set('x-ratelimit-limit-tokens', String(rate.tokensLimit));
  headers.set('x-ratelimit-remaining-requests', String(rate.requestsRemaining));
  headers.set('x-ratelimit-remaining-tokens', String(rate.tokensRemaining));
  headers.set('x-ratelimit-reset-requests', formatResetDuration(rate.requestsResetMs));
  headers.set('x-ratelimit-reset-tokens', formatResetDuration(rate.tokensResetMs));
  return headers;
}

interface StreamPlan {
  generation: Generation;
  ttft: number;
  perToken: number;
  includeUsage: boolean;
  usage: ReturnType<typeof usageOf>;
  base: Record<string, unknown>;
  toolCallId: string | undefined;
}

async function* streamFrames(call: Call, plan: StreamPlan): AsyncGenerator<string> {
  const { generation, base } = plan;
  const usageField = plan.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    encodeSse({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...usageField,
      obfuscation: call.rng.string(call.rng.int(2, 12)),
    });
  const toolDelta = (args: string, first: boolean) => ({
    tool_calls: [
      first
        ? {
            index: 0,
            id: plan.toolCallId,
            type: 'function',
            function: { name: generation.toolName, arguments: args },
          }
        : { index: 0, function: { arguments: args } },
    ],
  });

  await call.wait(plan.ttft);
  // The role chunk and the first token leave together, after TTFT.
  let frame = generation.toolName
    ? chunk({ role: 'assistant', content: null, ...toolDelta('', true), refusal: null })
    : chunk({ role: 'assistant', content: '', refusal: null });
  const chunks = chunkPieces(generation.pieces, () => 1);
  for (const [i, piece] of chunks.entries()) {
    if (i > 0) {
      yield frame;
      frame = '';
      await call.wait(plan.perToken * piece.tokens);
    }
    frame += generation.toolName ? chunk(toolDelta(piece.text, false)) : chunk({ content: piece.text });
  }
  frame += chunk({}, FINISH[generation.finish]);
  if (plan.includeUsage) {
    frame += encodeSse({ ...base, choices: [], usage: plan.usage, obfuscation: call.rng.string(8) });
  }
  frame += SSE_DONE;
  yield frame;
}
