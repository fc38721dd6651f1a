/**
 * OpenAI's Responses API (`POST /v1/responses`): the JSON Response object and its SSE event stream
 * (`response.created` … `response.completed`), reasoning items and usage, function calls, JSON
 * output (`text.format`), logprobs, and the API's 400s. Stateless: `previous_response_id`,
 * `conversation` and `store` are accepted but nothing is stored or recalled, and built-in tools
 * (web search, file search, code interpreter…) are accepted but never called.
 */
import type { Call, RateLimitState } from './call.ts';
import { streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import { chunkPieces, contentText, estimateInputTokens, generate } from './content.ts';
import { tokenTimeMs } from './latency.ts';
import {
  type Body,
  baseHeaders,
  checkParamRules,
  type FunctionTool,
  invalid,
  json,
  pickTool,
  readBody,
  reasoningTokens,
  requestModel,
  type TokenLogprob,
  tokenLogprobs,
  withRateHeaders,
} from './openai-shared.ts';
import { deriveSeed, Rng } from './random.ts';
import { encodeSse, SSE_CONTENT_TYPE } from './wire.ts';

type Item = Record<string, unknown>;

/** The input as chat-like messages: for token counts, the content seed and who spoke last. */
function inputMessages(input: unknown): Array<{ role: string; content: unknown }> {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) return [];
  return (input as Item[]).map((item) => {
    if (item?.type === 'function_call_output') return { role: 'tool', content: item.output };
    if (item?.type === 'function_call') return { role: 'assistant', content: item.arguments };
    return { role: typeof item?.role === 'string' ? item.role : 'user', content: item?.content };
  });
}

function chooseTool(body: Body, userSpokeLast: boolean): FunctionTool | undefined {
  const tools = (Array.isArray(body.tools) ? body.tools : []) as Item[];
  const functions = tools
    .filter((t) => t?.type === 'function' && typeof t.name === 'string')
    .map((t) => ({
      name: t.name as string,
      ...(t.parameters ? { parameters: t.parameters as JsonSchema } : {}),
    }));
  const choice = body.tool_choice as unknown;
  return pickTool(
    functions,
    choice && typeof choice === 'object'
      ? { name: (choice as { name?: string }).name }
      : choice === 'none' || choice === 'required'
        ? choice
        : 'auto',
    userSpokeLast,
  );
}

/** A function tool as the Response echoes it: with its defaults filled in. */
function echoTool(tool: Item): Item {
  if (tool?.type !== 'function') return tool;
  return { description: null, strict: true, ...tool };
}

function jsonFormat(body: Body): true | JsonSchema | undefined {
  const format = (body.text as { format?: { type?: string; schema?: JsonSchema } } | undefined)?.format;
  if (format?.type === 'json_object') return true;
  if (format?.type === 'json_schema') return format.schema ?? true;
  return undefined;
}

export async function handleResponses(call: Call): Promise<Response> {
  const body = await readBody(call);
  if (body instanceof Response) return body;
  return respond(call, body);
}

function respond(call: Call, body: Body): Response | Promise<Response> {
  const found = requestModel(call, 'responses', body);
  if (found instanceof Response) return found;
  const { id: modelId, spec } = found;
  const messages = inputMessages(body.input);
  if (body.input === undefined || messages.length === 0) {
    return invalid(call, "Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  }
  const rejected = checkParamRules(call, spec.rejectedParams ?? [], body);
  if (rejected) return rejected;
  const reasoningParam = body.reasoning as { effort?: unknown; summary?: unknown } | null | undefined;
  if (reasoningParam?.effort != null && !spec.reasoning) {
    return invalid(
      call,
      "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
      'reasoning.effort',
      'unsupported_parameter',
    );
  }
  const maxTokens = body.max_output_tokens == null ? undefined : Number(body.max_output_tokens);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 16)) {
    return invalid(
      call,
      `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${String(body.max_output_tokens)} instead.`,
      'max_output_tokens',
      'integer_below_min_value',
    );
  }
  if (maxTokens !== undefined && maxTokens > spec.maxOutputTokens) {
    return invalid(
      call,
      `max_output_tokens is too large: ${maxTokens}. This model supports at most ${spec.maxOutputTokens} output tokens, whereas you provided ${maxTokens}.`,
      'max_output_tokens',
      'invalid_value',
    );
  }
  const extra = [
    contentText(body.instructions),
    ...(Array.isArray(body.tools) ? [JSON.stringify(body.tools)] : []),
  ];
  const inputTokens = estimateInputTokens(messages, extra);
  if (inputTokens > spec.contextWindow) {
    return invalid(
      call,
      `Your input exceeds the context window of this model. Please adjust your input and try again.`,
      'input',
      'context_length_exceeded',
    );
  }

  const last = messages.at(-1);
  const tool = chooseTool(body, last?.role === 'user');
  const format = jsonFormat(body);
  const seed = call.contentSeed({
    api: 'responses',
    model: modelId,
    instructions: body.instructions,
    input: body.input,
    tools: body.tools,
    json: format,
    tool: tool?.name,
  });
  const reasoning = reasoningTokens(call, spec, reasoningParam?.effort, maxTokens);
  const generation = generate({
    seed,
    rng: call.rng,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(format ? { json: format } : {}),
    ...(tool ? { tool } : {}),
    ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
  });
  const include = Array.isArray(body.include) ? (body.include as string[]) : [];
  const logprobs =
    include.includes('message.output_text.logprobs') && !tool
      ? tokenLogprobs(
          generation.pieces,
          new Rng(deriveSeed(seed, 0x10b)),
          body.top_logprobs == null ? 0 : Number(body.top_logprobs),
        )
      : [];
  const summaryWanted =
    spec.reasoning && reasoningParam?.summary != null && reasoningParam.summary !== 'none';
  const summary = summaryWanted
    ? generate({ seed: deriveSeed(seed, 0x5a), rng: new Rng(deriveSeed(seed, 0x5b)), maxTokens: 60 }).text
    : undefined;

  const sample = call.latency(modelId, spec);
  const ttft = sample.ttftMs + tokenTimeMs(generation.reasoningTokens, sample);
  const perToken = tokenTimeMs(1, sample);
  const rate = call.rateLimit(modelId, spec, inputTokens + (maxTokens ?? generation.outputTokens));
  const id = `resp_${call.rng.hex(48)}`;
  const createdAt = Math.floor(call.clock.now() / 1000);
  const ids = {
    reasoning: spec.reasoning ? `rs_${call.rng.hex(48)}` : undefined,
    item: tool ? `fc_${call.rng.hex(48)}` : `msg_${call.rng.hex(48)}`,
    callId: tool ? `call_${call.rng.string(24)}` : undefined,
    encrypted: include.includes('reasoning.encrypted_content') ? call.rng.string(128) : undefined,
  };
  const plan: ResponsePlan = {
    generation,
    logprobs,
    summary,
    ids,
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: generation.outputTokens + generation.reasoningTokens,
      output_tokens_details: { reasoning_tokens: generation.reasoningTokens },
      total_tokens: inputTokens + generation.outputTokens + generation.reasoningTokens,
    },
    // The request's settings, echoed as the API echoes them.
    base: {
      id,
      object: 'response',
      created_at: createdAt,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: maxTokens ?? null,
      max_tool_calls: body.max_tool_calls ?? null,
      model: spec.servedAs ?? body.model,
      output: [],
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      prompt_cache_key: body.prompt_cache_key ?? null,
      reasoning: {
        effort: spec.reasoning ? (reasoningParam?.effort ?? 'medium') : null,
        summary: reasoningParam?.summary ?? null,
      },
      safety_identifier: body.safety_identifier ?? null,
      service_tier: 'default',
      temperature: body.temperature ?? 1,
      text: {
        format: (body.text as { format?: unknown } | undefined)?.format ?? { type: 'text' },
        verbosity: (body.text as { verbosity?: unknown } | undefined)?.verbosity ?? 'medium',
      },
      tool_choice: body.tool_choice ?? 'auto',
      tools: Array.isArray(body.tools) ? (body.tools as Item[]).map(echoTool) : [],
      top_logprobs: body.top_logprobs ?? 0,
      top_p: body.top_p ?? 1,
      truncation: body.truncation ?? 'disabled',
      ...(typeof body.user === 'string' ? { user: body.user } : {}),
      metadata: body.metadata ?? {},
    },
    ...(tool ? { toolName: tool.name } : {}),
  };

  if (body.stream === true) {
    const headers = withRateHeaders(baseHeaders(call, 0), rate);
    headers.set('content-type', SSE_CONTENT_TYPE);
    return streamResponse(call, streamEvents(call, plan, ttft, perToken), 200, headers);
  }
  return replyAfter(call, ttft + perToken * Math.max(0, generation.outputTokens - 1), plan, rate);
}

interface ResponsePlan {
  generation: Generation;
  logprobs: TokenLogprob[];
  summary: string | undefined;
  ids: {
    reasoning: string | undefined;
    item: string;
    callId: string | undefined;
    encrypted: string | undefined;
  };
  usage: Record<string, unknown>;
  base: Record<string, unknown>;
  toolName?: string;
}

async function replyAfter(
  call: Call,
  total: number,
  plan: ResponsePlan,
  rate: RateLimitState,
): Promise<Response> {
  await call.wait(total);
  const headers = withRateHeaders(baseHeaders(call, total), rate);
  return json(call, finished(plan, Math.floor(call.clock.now() / 1000)), total, headers);
}

/** `completed`, or `incomplete` when the output limit cut the answer. */
function finished(plan: ResponsePlan, completedAt: number): Record<string, unknown> {
  const cut = plan.generation.finish === 'length';
  return {
    ...plan.base,
    status: cut ? 'incomplete' : 'completed',
    completed_at: cut ? null : completedAt,
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    output: outputItems(plan, 'completed'),
    usage: plan.usage,
  };
}

function reasoningItem(plan: ResponsePlan, summary: boolean): Item {
  return {
    id: plan.ids.reasoning,
    type: 'reasoning',
    summary: summary && plan.summary !== undefined ? [{ type: 'summary_text', text: plan.summary }] : [],
    ...(plan.ids.encrypted ? { encrypted_content: plan.ids.encrypted } : {}),
  };
}

/** Stream events carry logprobs without the byte arrays the final output_text has. */
function eventLogprobs(logprobs: TokenLogprob[]): Item[] {
  return logprobs.map(({ token, logprob, top_logprobs }) => ({
    token,
    logprob,
    top_logprobs: top_logprobs.map((alt) => ({ token: alt.token, logprob: alt.logprob })),
  }));
}

function outputText(text: string, logprobs: TokenLogprob[]): Item {
  return { type: 'output_text', annotations: [], logprobs, text };
}

function answerItem(plan: ResponsePlan, status: 'in_progress' | 'completed'): Item {
  const done = status === 'completed';
  if (plan.toolName) {
    return {
      id: plan.ids.item,
      type: 'function_call',
      status,
      arguments: done ? plan.generation.text : '',
      call_id: plan.ids.callId,
      name: plan.toolName,
    };
  }
  return {
    id: plan.ids.item,
    type: 'message',
    status,
    content: done ? [outputText(plan.generation.text, plan.logprobs)] : [],
    role: 'assistant',
  };
}

function outputItems(plan: ResponsePlan, status: 'completed'): Item[] {
  return [...(plan.ids.reasoning ? [reasoningItem(plan, true)] : []), answerItem(plan, status)];
}

async function* streamEvents(
  call: Call,
  plan: ResponsePlan,
  ttft: number,
  perToken: number,
): AsyncGenerator<string> {
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    encodeSse({ type, sequence_number: sequence++, ...data }, type);
  const inProgress = { ...plan.base, status: 'in_progress', completed_at: null };
  // The API acknowledges at once; the output comes after the model's first token.
  yield event('response.created', { response: inProgress }) +
    event('response.in_progress', { response: inProgress });
  await call.wait(ttft);
  let frame = '';
  let outputIndex = 0;
  if (plan.ids.reasoning) {
    const itemId = plan.ids.reasoning;
    frame += event('response.output_item.added', { output_index: 0, item: reasoningItem(plan, false) });
    if (plan.summary !== undefined) {
      const part = { type: 'summary_text', text: '' };
      frame += event('response.reasoning_summary_part.added', {
        item_id: itemId,
        output_index: 0,
        summary_index: 0,
        part,
      });
      frame += event('response.reasoning_summary_text.delta', {
        item_id: itemId,
        output_index: 0,
        summary_index: 0,
        delta: plan.summary,
      });
      frame += event('response.reasoning_summary_text.done', {
        item_id: itemId,
        output_index: 0,
        summary_index: 0,
        text: plan.summary,
      });
      frame += event('response.reasoning_summary_part.done', {
        item_id: itemId,
        output_index: 0,
        summary_index: 0,
        part: { ...part, text: plan.summary },
      });
    }
    frame += event('response.output_item.done', { output_index: 0, item: reasoningItem(plan, true) });
    outputIndex = 1;
  }
  const itemId = plan.ids.item;
  const at = { item_id: itemId, output_index: outputIndex };
  frame += event('response.output_item.added', {
    output_index: outputIndex,
    item: answerItem(plan, 'in_progress'),
  });
  const { generation } = plan;
  if (!plan.toolName) {
    frame += event('response.content_part.added', { ...at, content_index: 0, part: outputText('', []) });
  }
  const chunks = chunkPieces(generation.pieces, () => 1);
  for (const [i, piece] of chunks.entries()) {
    if (i > 0) {
      yield frame;
      frame = '';
      await call.wait(perToken * piece.tokens);
    }
    frame += plan.toolName
      ? event('response.function_call_arguments.delta', {
          ...at,
          delta: piece.text,
        })
      : event('response.output_text.delta', {
          ...at,
          content_index: 0,
          delta: piece.text,
          logprobs: eventLogprobs(plan.logprobs.slice(i, i + 1)),
        });
  }
  if (plan.toolName) {
    frame += event('response.function_call_arguments.done', {
      ...at,
      name: plan.toolName,
      arguments: generation.text,
    });
  } else {
    frame += event('response.output_text.done', {
      ...at,
      content_index: 0,
      text: generation.text,
      logprobs: eventLogprobs(plan.logprobs),
    });
    frame += event('response.content_part.done', {
      ...at,
      content_index: 0,
      part: outputText(generation.text, plan.logprobs),
    });
  }
  frame += event('response.output_item.done', {
    output_index: outputIndex,
    item: answerItem(plan, 'completed'),
  });
  const response = finished(plan, Math.floor(call.clock.now() / 1000));
  frame += event(response.status === 'completed' ? 'response.completed' : 'response.incomplete', {
    response,
  });
  yield frame;
}
