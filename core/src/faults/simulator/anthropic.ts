import type { Call, RateLimitState } from './call.ts';
import { streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import { chunkPieces, contentText, estimateInputTokens, generate } from './content.ts';
import { tokenTimeMs } from './latency.ts';
import type { ParamRule } from './models.ts';
import { lookupModel } from './models.ts';
import { deriveSeed, Rng } from './random.ts';
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

/**
 * The Messages API's body parameters: those of MessageCreateParams in the official SDK's published
 * types (the GA and beta interfaces together; `betas` travels as a header), plus the sampling
 * parameters `temperature`, `top_p` and `top_k` that older models still take and the API documents.
 * Anything else is `<name>: Extra inputs are not permitted`, as the API answers.
 */
export const MESSAGES_PARAMS: ReadonlySet<string> = new Set([
  ...['max_tokens', 'messages', 'model', 'cache_control', 'container', 'diagnostics', 'inference_geo'],
  ...['metadata', 'output_config', 'output_format', 'service_tier', 'speed', 'stop_sequences', 'stream'],
  ...['system', 'thinking', 'tool_choice', 'tools', 'user_profile_id', 'workspace_id', 'billing_policy'],
  ...['compaction', 'context_management', 'fallback_credit_token', 'fallbacks', 'mcp_servers', 'thread'],
  ...['temperature', 'top_p', 'top_k'],
]);

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
      capabilities: null,
      deprecated_at: null,
      lifecycle: 'active',
      line: null,
      max_input_tokens: spec.contextWindow,
      max_tokens: spec.maxOutputTokens,
      retires_at: null,
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
  const unknown = Object.keys(body).find((key) => !MESSAGES_PARAMS.has(key));
  if (unknown !== undefined) return invalid(call, `${unknown}: Extra inputs are not permitted`);
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
  const format = outputFormat(body);
  const thinking = thinkingBudget(body, maxTokens);
  if (typeof thinking === 'string') return invalid(call, thinking);
  if (thinking !== undefined && tool && (body.tool_choice as { type?: string })?.type !== 'auto') {
    return invalid(call, 'Thinking may not be enabled when tool_choice forces tool use.');
  }
  const stop = Array.isArray(body.stop_sequences) ? (body.stop_sequences as string[]) : [];
  const seed = call.contentSeed({
    model: modelId,
    system: body.system,
    messages: body.messages,
    tools: body.tools,
    tool: tool?.name,
    format,
  });
  // Thinking first, from streams of its own (a request without it draws exactly as before); the
  // answer gets what is left of max_tokens.
  const thought = thinking === undefined ? undefined : think(seed, thinking);
  const generation = generate({
    seed,
    rng: call.rng,
    maxTokens: maxTokens - (thought?.tokens ?? 0),
    stop,
    ...(tool ? { tool } : format ? { json: format } : asksForJson(body.system) ? { json: true } : {}),
  });
  const outputTokens = generation.outputTokens + (thought?.tokens ?? 0);

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
    output_tokens: outputTokens,
    output_tokens_details: thought ? { thinking_tokens: thought.tokens } : null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
    speed: 'standard',
  };
  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model: servedAs,
    container: null,
    diagnostics: null,
    content: [] as unknown[],
    stop_reason: null as string | null,
    stop_sequence: null as string | null,
    stop_details: null,
    usage,
  };
  // Thinking happens before the first visible token.
  const ttft = sample.ttftMs + tokenTimeMs(thought?.tokens ?? 0, sample);

  if (body.stream === true) {
    const headers = baseHeaders(call, rate);
    headers.set('content-type', SSE_CONTENT_TYPE);
    headers.set('cache-control', 'no-cache');
    const frames = streamFrames(call, { generation, thought, ttft, perToken, message, toolUseId });
    return streamResponse(call, frames, 200, headers);
  }

  const { text, toolName, finish, stopSequence } = generation;
  return replyAfter(call, ttft + perToken * Math.max(0, generation.outputTokens - 1), () => {
    const answer = toolName
      ? { type: 'tool_use', id: toolUseId, name: toolName, input: parseOr(text), caller: DIRECT }
      : { type: 'text', text, citations: null };
    message.content = thought
      ? [{ type: 'thinking', thinking: thought.text, signature: thought.signature }, answer]
      : [answer];
    message.stop_reason = STOP_REASON[finish];
    message.stop_sequence = stopSequence;
    return json(call, message, rate);
  });
}

/** A tool called by the model itself (not by a server tool). */
const DIRECT = { type: 'direct' };

/** The JSON Schema of a structured-output request (`output_config.format`, or the beta `output_format`). */
function outputFormat(body: Body): JsonSchema | undefined {
  const config = body.output_config as { format?: { type?: string; schema?: JsonSchema } | null } | undefined;
  const format = config?.format ?? (body.output_format as { type?: string; schema?: JsonSchema } | undefined);
  return format?.type === 'json_schema' ? (format.schema ?? { type: 'object' }) : undefined;
}

/**
 * The thinking budget in tokens: `enabled` gives it, `adaptive` lets the model choose (a quarter of
 * max_tokens, at most 16k). Undefined when thinking is off; a string is the API's 400 message.
 */
function thinkingBudget(body: Body, maxTokens: number): number | string | undefined {
  const thinking = body.thinking as { type?: string; budget_tokens?: unknown } | undefined;
  if (!thinking || thinking.type === 'disabled') return undefined;
  if (thinking.type === 'adaptive') return Math.min(16_000, Math.max(1024, Math.floor(maxTokens / 4)));
  if (thinking.type !== 'enabled')
    return `thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'`;
  const budget = Number(thinking.budget_tokens);
  if (!Number.isInteger(budget) || budget < 1024) {
    return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
  }
  if (budget >= maxTokens) return '`max_tokens` must be greater than `thinking.budget_tokens`.';
  const temperature = body.temperature;
  if (temperature !== undefined && temperature !== 1) {
    return '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking';
  }
  return budget;
}

interface Thought {
  text: string;
  pieces: string[];
  tokens: number;
  signature: string;
}

/** Summarised thinking of up to `budget` tokens, and its signature. */
function think(seed: number, budget: number): Thought {
  const rng = new Rng(deriveSeed(seed, 0x7a));
  const target = Math.min(budget, rng.int(40, 400));
  const thought = generate({ seed: deriveSeed(seed, 0x7b), rng, maxTokens: target });
  // A signature is an opaque base64 blob the API checks when the block is sent back.
  const signature = Buffer.from(rng.string(240)).toString('base64');
  return { text: thought.text, pieces: thought.pieces, tokens: thought.outputTokens, signature };
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
  thought: Thought | undefined;
  ttft: number;
  perToken: number;
  message: Record<string, unknown> & { usage: Record<string, unknown> };
  toolUseId: string | undefined;
}

async function* streamFrames(call: Call, plan: StreamPlan): AsyncGenerator<string> {
  const { generation, message, thought } = plan;
  await call.wait(plan.ttft);
  const startUsage = { ...message.usage, output_tokens: 1 };
  let frame = encodeSse(
    { type: 'message_start', message: { ...message, usage: startUsage } },
    'message_start',
  );
  let index = 0;
  if (thought) {
    // The thinking block comes first, whole (its tokens were spent before TTFT), then its signature.
    const start = {
      type: 'content_block_start',
      index,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    };
    frame += encodeSse(start, 'content_block_start');
    for (const chunk of chunkPieces(thought.pieces, () => 8)) {
      const delta = { type: 'thinking_delta', thinking: chunk.text };
      frame += encodeSse({ type: 'content_block_delta', index, delta }, 'content_block_delta');
    }
    const signature = { type: 'signature_delta', signature: thought.signature };
    frame += encodeSse({ type: 'content_block_delta', index, delta: signature }, 'content_block_delta');
    frame += encodeSse({ type: 'content_block_stop', index }, 'content_block_stop');
    index = 1;
  }
  const block = generation.toolName
    ? { type: 'tool_use', id: plan.toolUseId, name: generation.toolName, input: {}, caller: DIRECT }
    : { type: 'text', text: '', citations: null };
  frame += encodeSse({ type: 'content_block_start', index, content_block: block }, 'content_block_start');
  frame += encodeSse({ type: 'ping' }, 'ping');
  const delta = (text: string) =>
    encodeSse(
      {
        type: 'content_block_delta',
        index,
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
  frame += encodeSse({ type: 'content_block_stop', index }, 'content_block_stop');
  const usage = message.usage;
  frame += encodeSse(
    {
      type: 'message_delta',
      delta: {
        container: null,
        stop_reason: STOP_REASON[generation.finish],
        stop_sequence: generation.stopSequence,
        stop_details: null,
      },
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: usage.output_tokens,
        output_tokens_details: usage.output_tokens_details,
        server_tool_use: null,
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
