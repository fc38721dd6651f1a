import type { Call, RateLimitState } from './call.ts';
import { streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import { chunkPieces, contentText, estimateInputTokens, generate } from './content.ts';
import { tokenTimeMs } from './latency.ts';
import type { ParamRule } from './models.ts';
import { lookupModel } from './models.ts';
import type { ErrorSpec } from './wire.ts';
import {
  anthropicRequestId,
  encodeSse,
  errorResponse,
  JSON_CONTENT_TYPE,
  modelIdOfPath,
  SSE_CONTENT_TYPE,
} from './wire.ts';

type Body = Record<string, unknown>;

function fail(call: Call, status: number, spec: Omit<ErrorSpec, 'requestId'>): Response {
  return errorResponse('anthropic', status, { ...spec, requestId: anthropicRequestId(call.rng) });
}

const invalid = (call: Call, message: string, status = 400) =>
  fail(call, status, { type: 'invalid_request_error', message });

/** Accepts `x-api-key` (SDK 0.x) and `authorization: Bearer` (SDK 1.x). */
function checkAuth(call: Call): Response | undefined {
  const headers = call.request.headers;
  const bearer = /^Bearer\s+(.*)$/i.exec(headers.get('authorization') ?? '')?.[1]?.trim() ?? '';
  const key = headers.get('x-api-key')?.trim() || bearer;
  if (!key) return fail(call, 401, { type: 'authentication_error', message: 'x-api-key header is required' });
  if (!call.accepts('anthropic', key)) {
    return fail(call, 401, { type: 'authentication_error', message: 'invalid x-api-key' });
  }
  if (!headers.get('anthropic-version')) return invalid(call, 'anthropic-version: header is required');
  return undefined;
}

export async function handleAnthropic(call: Call): Promise<Response> {
  const { pathname } = call;
  const method = call.request.method.toUpperCase();
  const isMessages = pathname === '/v1/messages' || pathname === '/v1/messages/count_tokens';
  const isModels = pathname === '/v1/models' || pathname.startsWith('/v1/models/');
  if (!isMessages && !isModels) return fail(call, 404, { type: 'not_found_error', message: 'Not Found' });
  const denied = checkAuth(call);
  if (denied) return denied;
  if (isMessages !== (method === 'POST') || (isModels && method !== 'GET')) {
    return fail(call, 405, { type: 'invalid_request_error', message: 'Method Not Allowed' });
  }
  if (isModels) return listModels(call, pathname);
  return messages(call, pathname.endsWith('/count_tokens'));
}

function listModels(call: Call, pathname: string): Response {
  const data = Object.entries(call.models)
    .filter(([, spec]) => spec.provider === 'anthropic')
    .map(([id, spec]) => ({
      type: 'model',
      id: spec.servedAs ?? id,
      display_name: spec.displayName ?? id,
      created_at: `${
        /(\d{4})(\d{2})(\d{2})$/
          .exec(spec.servedAs ?? '')
          ?.slice(1)
          .join('-') ?? '2025-01-01'
      }T00:00:00Z`,
    }));
  if (pathname !== '/v1/models') {
    const wanted = modelIdOfPath(pathname);
    if (wanted === undefined) {
      return fail(call, 400, {
        type: 'invalid_request_error',
        message: 'model: not a valid percent-encoded path',
      });
    }
    const found = lookupModel(call.models, 'anthropic', wanted);
    const entry = found && data.find((d) => d.id === (found.spec.servedAs ?? found.id));
    if (!entry) return fail(call, 404, { type: 'not_found_error', message: `model: ${wanted}` });
    return json(call, entry, undefined);
  }
  return json(
    call,
    { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
    undefined,
  );
}

function json(call: Call, body: unknown, rate: RateLimitState | undefined): Response {
  const headers = baseHeaders(call, rate);
  headers.set('content-type', JSON_CONTENT_TYPE);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function baseHeaders(call: Call, rate: RateLimitState | undefined): Headers {
  const headers = new Headers({
    'request-id': anthropicRequestId(call.rng),
    'anthropic-organization-id': '00000000-0000-4000-8000-5317c4a2d000',
  });
  if (rate) {
    const now = call.clock.now();
    const set = (kind: string, limit: number, remaining: number, resetMs: number) => {
      headers.set(`anthropic-ratelimit-${kind}-limit`, String(limit));
      headers.set(`anthropic-ratelimit-${kind}-remaining`, String(remaining));
      headers.set(`anthropic-ratelimit-${kind}-reset`, rfc3339(now + resetMs));
    };
    set('requests', rate.requestsLimit, rate.requestsRemaining, rate.requestsResetMs);
    set('tokens', rate.tokensLimit, rate.tokensRemaining, rate.tokensResetMs);
    // Input and output buckets are reported from the one token bucket (an approximation).
    set('input-tokens', rate.tokensLimit, rate.tokensRemaining, rate.tokensResetMs);
    set(
      'output-tokens',
      Math.floor(rate.tokensLimit / 5),
      Math.floor(rate.tokensRemaining / 5),
      rate.tokensResetMs,
    );
  }
  return headers;
}

function checkParamRules(call: Call, rules: readonly ParamRule[], body: Body): Response | undefined {
  for (const rule of rules) {
    if (
      rule.kind === 'mutually-exclusive' &&
      rule.params.every((p) => body[p] !== undefined && body[p] !== null)
    ) {
      const [a, b] = rule.params;
      return invalid(
        call,
        `\`${a}\` and \`${b}\` cannot both be specified for this model. Please use only one.`,
      );
    }
    if (rule.kind === 'unsupported' && body[rule.param] !== undefined) {
      return invalid(call, `${rule.param}: Extra inputs are not permitted`);
    }
  }
  return undefined;
}

interface AnthropicTool {
  name?: string;
  input_schema?: JsonSchema;
}

/** `auto` (the default) calls the first tool when the last message is the user's own text. */
function chooseTool(body: Body): { name: string; parameters?: JsonSchema } | undefined {
  const tools = ((Array.isArray(body.tools) ? body.tools : []) as AnthropicTool[]).filter((t) => !!t?.name);
  if (tools.length === 0) return undefined;
  const choice = (body.tool_choice ?? { type: 'auto' }) as { type?: string; name?: string };
  let tool: AnthropicTool | undefined;
  if (choice.type === 'none') return undefined;
  if (choice.type === 'tool') tool = tools.find((t) => t.name === choice.name);
  else if (choice.type === 'any') tool = tools[0];
  else {
    const last = (body.messages as Array<{ role?: string; content?: unknown }>).at(-1);
    const isToolResult =
      Array.isArray(last?.content) &&
      last.content.some((p) => (p as { type?: string })?.type === 'tool_result');
    if (last?.role === 'user' && !isToolResult) tool = tools[0];
  }
  return tool
    ? { name: tool.name!, ...(tool.input_schema ? { parameters: tool.input_schema } : {}) }
    : undefined;
}

const STOP_REASON = {
  end: 'end_turn',
  stop_sequence: 'stop_sequence',
  length: 'max_tokens',
  tool: 'tool_use',
} as const;

async function messages(call: Call, countOnly: boolean): Promise<Response> {
  let body: Body;
  try {
    body = JSON.parse(await call.request.text()) as Body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
  } catch {
    return invalid(
      call,
      'There was an error parsing the body of your request. Please check your JSON syntax.',
    );
  }
  // Synchronous up to the wait, in a function of its own: only what the reply needs waits (an async
  // function keeps every local it has until it returns), as in openai.ts.
  return respond(call, body, countOnly);
}

function respond(call: Call, body: Body, countOnly: boolean): Response | Promise<Response> {
  if (typeof body.model !== 'string' || !body.model) return invalid(call, 'model: Field required');
  if (!Array.isArray(body.messages)) return invalid(call, 'messages: Field required');
  if (!countOnly && body.max_tokens == null) return invalid(call, 'max_tokens: Field required');
  const found = lookupModel(call.models, 'anthropic', body.model);
  if (!found) return fail(call, 404, { type: 'not_found_error', message: `model: ${body.model}` });
  const { id: modelId, spec } = found;
  const servedAs = spec.servedAs ?? modelId;

  const extra = [
    contentText(body.system),
    ...(Array.isArray(body.tools) ? [JSON.stringify(body.tools)] : []),
  ];
  const inputTokens = estimateInputTokens(body.messages, extra);
  if (countOnly) return json(call, { input_tokens: inputTokens }, undefined);

  const rejected = checkParamRules(call, spec.rejectedParams ?? [], body);
  if (rejected) return rejected;
  const maxTokens = Number(body.max_tokens);
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    return invalid(call, 'max_tokens: Input should be greater than or equal to 1');
  if (maxTokens > spec.maxOutputTokens) {
    return invalid(
      call,
      `max_tokens: ${maxTokens} > ${spec.maxOutputTokens}, which is the maximum allowed number of output tokens for ${servedAs}`,
    );
  }
  if (inputTokens > spec.contextWindow) {
    return invalid(call, `prompt is too long: ${inputTokens} tokens > ${spec.contextWindow} maximum`);
  }

  const tool = chooseTool(body);
  const stop = Array.isArray(body.stop_sequences) ? (body.stop_sequences as string[]) : [];
  const seed = call.contentSeed({
    model: modelId,
    system: body.system,
    messages: body.messages,
    tools: body.tools,
    tool: tool?.name,
  });
  const generation = generate({
    seed,
    rng: call.rng,
    maxTokens,
    stop,
    ...(tool ? { tool } : asksForJson(body.system) ? { json: true } : {}),
  });

  const sample = call.latency(modelId, spec);
  const perToken = tokenTimeMs(1, sample);
  const id = `msg_01${call.rng.string(22)}`;
  const toolUseId = tool ? `toolu_01${call.rng.string(22)}` : undefined;
  const rate = call.rateLimit(modelId, spec, inputTokens + maxTokens);
  const usage = {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: generation.outputTokens,
    service_tier: 'standard',
  };
  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model: servedAs,
    content: [] as unknown[],
    stop_reason: null as string | null,
    stop_sequence: null as string | null,
    usage,
  };

  if (body.stream === true) {
    const headers = baseHeaders(call, rate);
    headers.set('content-type', SSE_CONTENT_TYPE);
    headers.set('cache-control', 'no-cache');
    const frames = streamFrames(call, { generation, ttft: sample.ttftMs, perToken, message, toolUseId });
    return streamResponse(call, frames, 200, headers);
  }

  const { text, toolName, finish, stopSequence } = generation;
  return replyAfter(call, sample.ttftMs + perToken * Math.max(0, generation.outputTokens - 1), () => {
    if (toolName) {
      message.content = [{ type: 'tool_use', id: toolUseId, name: toolName, input: parseOr(text) }];
    } else {
      message.content = [{ type: 'text', text }];
    }
    message.stop_reason = STOP_REASON[finish];
    message.stop_sequence = stopSequence;
    return json(call, message, rate);
  });
}

async function replyAfter(call: Call, ms: number, reply: () => Response): Promise<Response> {
  await call.wait(ms);
  return reply();
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Arguments cut by max_tokens are not valid JSON; the API then reports what it could parse.
    return {};
  }
}

interface StreamPlan {
  generation: Generation;
  ttft: number;
  perToken: number;
  message: Record<string, unknown> & { usage: Record<string, unknown> };
  toolUseId: string | undefined;
}

async function* streamFrames(call: Call, plan: StreamPlan): AsyncGenerator<string> {
  const { generation, message } = plan;
  await call.wait(plan.ttft);
  const startUsage = { ...message.usage, output_tokens: 1 };
  let frame = encodeSse(
    { type: 'message_start', message: { ...message, usage: startUsage } },
    'message_start',
  );
  const block = generation.toolName
    ? { type: 'tool_use', id: plan.toolUseId, name: generation.toolName, input: {} }
    : { type: 'text', text: '' };
  frame += encodeSse({ type: 'content_block_start', index: 0, content_block: block }, 'content_block_start');
  frame += encodeSse({ type: 'ping' }, 'ping');
  const delta = (text: string) =>
    encodeSse(
      {
        type: 'content_block_delta',
        index: 0,
        delta: generation.toolName
          ? { type: 'input_json_delta', partial_json: text }
          : { type: 'text_delta', text },
      },
      'content_block_delta',
    );
  // Tool input starts with an empty partial, as the API does.
  if (generation.toolName) frame += delta('');
  // Anthropic deltas carry a few tokens each.
  const chunks = chunkPieces(generation.pieces, () => call.rng.int(1, 4));
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0) {
      yield frame;
      frame = '';
      await call.wait(plan.perToken * chunk.tokens);
    }
    frame += delta(chunk.text);
  }
  frame += encodeSse({ type: 'content_block_stop', index: 0 }, 'content_block_stop');
  const usage = message.usage;
  frame += encodeSse(
    {
      type: 'message_delta',
      delta: { stop_reason: STOP_REASON[generation.finish], stop_sequence: generation.stopSequence },
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: generation.outputTokens,
      },
    },
    'message_delta',
  );
  frame += encodeSse({ type: 'message_stop' }, 'message_stop');
  yield frame;
}

/**
 * Anthropic has no JSON mode: clients ask for JSON in the system prompt, and Claude follows such an
 * instruction. The simulator does the same when the system prompt asks for a JSON object.
 */
function asksForJson(system: unknown): boolean {
  const text =
    typeof system === 'string'
      ? system
      : Array.isArray(system)
        ? system.map((block) => (typeof block?.text === 'string' ? block.text : '')).join('\n')
        : '';
  return /\bJSON object\b/i.test(text);
}
