import type { Call } from './call.ts';
import { streamResponse } from './call.ts';
import type { Generation, JsonSchema } from './content.ts';
import {
  chunkPieces,
  contentText,
  countTokens,
  encodeTokens,
  estimateInputTokens,
  generate,
} from './content.ts';
import type { LatencySample } from './latency.ts';
import { tokenTimeMs } from './latency.ts';
import type { ModelSpec } from './models.ts';
import { lookupModel } from './models.ts';
import { encodeNdjson, errorResponse, NDJSON_CONTENT_TYPE, OLLAMA_JSON_CONTENT_TYPE } from './wire.ts';

/** The version /api/version reports. */
export const OLLAMA_VERSION = '0.12.6';

type Body = Record<string, unknown>;

const fail = (status: number, message: string) => errorResponse('ollama', status, { type: 'error', message });

export async function handleOllama(call: Call): Promise<Response> {
  const { pathname } = call;
  const method = call.request.method.toUpperCase();
  const route = `${method} ${pathname}`;
  switch (route) {
    case 'POST /api/chat':
      return chatOrGenerate(call, 'chat');
    case 'POST /api/generate':
      return chatOrGenerate(call, 'generate');
    case 'GET /api/tags':
    case 'HEAD /api/tags':
      return json({ models: tags(call) });
    case 'GET /api/ps':
      return json({ models: [] });
    case 'GET /api/version':
    case 'HEAD /api/version':
      return json({ version: OLLAMA_VERSION });
    default:
      // Go's default mux answer (gin without HandleMethodNotAllowed): plain text 404.
      return new Response('404 page not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': OLLAMA_JSON_CONTENT_TYPE },
  });
}

function tags(call: Call) {
  return Object.entries(call.models)
    .filter(([, spec]) => spec.provider === 'ollama')
    .map(([id, spec]) => {
      const details = spec.ollama ?? {
        family: 'llama',
        parameterSize: '8B',
        quantization: 'Q4_K_M',
        sizeBytes: 4e9,
      };
      return {
        name: id,
        model: id,
        modified_at: '2026-01-01T00:00:00.000000000Z',
        size: details.sizeBytes,
        digest: digestOf(id),
        details: {
          parent_model: '',
          format: 'gguf',
          family: details.family,
          families: [details.family],
          parameter_size: details.parameterSize,
          quantization_level: details.quantization,
        },
      };
    });
}

function digestOf(id: string): string {
  let hex = '';
  for (let i = 0; hex.length < 64; i++)
    hex += ((Math.imul(i + 1, 2654435761) ^ id.charCodeAt(i % id.length)) >>> 0).toString(16);
  return hex.slice(0, 64);
}

/** Go's encoding/json message for a body that does not start a JSON value. */
function goJsonError(text: string): string {
  const first = text.trimStart()[0];
  if (first === undefined) return 'missing request body';
  if (first !== '{' && first !== '[') return `invalid character '${first}' looking for beginning of value`;
  return 'unexpected EOF';
}

function createdAt(call: Call): string {
  // Ollama reports nanosecond-precision timestamps.
  return new Date(call.clock.now()).toISOString().replace('Z', `${call.rng.int(100_000, 999_999)}Z`);
}

function chooseTool(body: Body): { name: string; parameters?: JsonSchema } | undefined {
  const tools = (Array.isArray(body.tools) ? body.tools : []) as Array<{
    function?: { name?: string; parameters?: JsonSchema };
  }>;
  const fn = tools.map((t) => t.function).find((f) => !!f?.name);
  // Ollama has no tool_choice: the simulated model calls the first tool when the user spoke last.
  const last = (Array.isArray(body.messages) ? body.messages : []).at(-1) as { role?: string } | undefined;
  if (!fn || last?.role !== 'user') return undefined;
  return { name: fn.name!, ...(fn.parameters ? { parameters: fn.parameters } : {}) };
}

async function chatOrGenerate(call: Call, kind: 'chat' | 'generate'): Promise<Response> {
  const raw = await call.request.text();
  let body: Body;
  try {
    body = JSON.parse(raw) as Body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
  } catch {
    return fail(400, goJsonError(raw));
  }
  // Synchronous up to the wait, in a function of its own: only what the reply needs waits (an async
  // function keeps every local it has until it returns), as in openai.ts.
  return respond(call, kind, body);
}

function respond(call: Call, kind: 'chat' | 'generate', body: Body): Response | Promise<Response> {
  if (typeof body.model !== 'string' || !body.model) return fail(400, 'model is required');
  const found = lookupModel(call.models, 'ollama', body.model);
  if (!found) return fail(404, `model "${body.model}" not found, try pulling it first`);
  const { id: modelId, spec } = found;
  const model = body.model;
  const options = (body.options ?? {}) as {
    num_predict?: number;
    stop?: string[] | string;
    num_ctx?: number;
  };
  const messages = kind === 'chat' ? (Array.isArray(body.messages) ? body.messages : []) : [];
  const prompt = kind === 'generate' ? contentText(body.prompt) : '';

  // An empty request only loads the model, as `ollama run` does.
  if ((kind === 'chat' && messages.length === 0) || (kind === 'generate' && !prompt)) {
    const loaded = {
      model,
      created_at: createdAt(call),
      ...(kind === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
    };
    return json({ ...loaded, done_reason: 'load', done: true });
  }

  const numCtx =
    typeof options.num_ctx === 'number' && options.num_ctx > 0 ? options.num_ctx : spec.contextWindow;
  const fullInput =
    kind === 'chat'
      ? estimateInputTokens(messages)
      : countTokens(prompt) + countTokens(contentText(body.system)) + 3;
  if (fullInput > numCtx && body.truncate === false) {
    return fail(400, 'the input length exceeds the context length');
  }
  // By default Ollama silently drops the oldest context to fit num_ctx, so it never errors here.
  const inputTokens = Math.min(fullInput, numCtx);

  const tool = kind === 'chat' ? chooseTool(body) : undefined;
  const format = body.format;
  const json_ =
    format === 'json' ? true : format && typeof format === 'object' ? (format as JsonSchema) : undefined;
  const stop =
    typeof options.stop === 'string' ? [options.stop] : Array.isArray(options.stop) ? options.stop : [];
  const maxTokens =
    typeof options.num_predict === 'number' && options.num_predict >= 0 ? options.num_predict : undefined;
  const seed = call.contentSeed({
    kind,
    model: modelId,
    messages,
    prompt,
    system: body.system,
    tools: body.tools,
    json_,
  });
  const generation = generate({
    seed,
    rng: call.rng,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    stop,
    ...(json_ ? { json: json_ } : {}),
    ...(tool ? { tool } : {}),
  });
  const sample = call.latency(modelId, spec);
  const perToken = tokenTimeMs(1, sample);
  const plan: Plan = { kind, model, generation, sample, inputTokens, perToken, spec, prompt };

  const stream = body.stream !== false; // Ollama streams unless told not to.
  if (stream) {
    return streamResponse(call, lines(call, plan), 200, new Headers({ 'content-type': NDJSON_CONTENT_TYPE }));
  }
  return replyAfter(call, plan, sample.ttftMs + perToken * Math.max(0, generation.outputTokens - 1));
}

async function replyAfter(call: Call, plan: Plan, ms: number): Promise<Response> {
  await call.wait(ms);
  const { kind, model, generation } = plan;
  const final = finalFields(call, plan);
  const payload =
    kind === 'chat'
      ? {
          model,
          created_at: createdAt(call),
          message: assistantMessage(call, generation, generation.text),
          ...final,
        }
      : { model, created_at: createdAt(call), response: generation.text, ...final };
  return json(orderDone(payload));
}

interface Plan {
  kind: 'chat' | 'generate';
  model: string;
  generation: Generation;
  sample: LatencySample;
  inputTokens: number;
  perToken: number;
  spec: ModelSpec;
  prompt: string;
}

function assistantMessage(call: Call, generation: Generation, text: string): Record<string, unknown> {
  if (!generation.toolName) return { role: 'assistant', content: text };
  let args: unknown = {};
  try {
    args = JSON.parse(generation.text);
  } catch {
    // Cut by num_predict: Ollama would fail to parse the call; report empty arguments.
  }
  return {
    role: 'assistant',
    content: '',
    tool_calls: [
      {
        id: `call_${call.rng.string(8).toLowerCase()}`,
        function: { index: 0, name: generation.toolName, arguments: args },
      },
    ],
  };
}

/** Stats of the final `done: true` object; durations in nanoseconds, floored so rates stay finite. */
function finalFields(call: Call, plan: Plan): Record<string, unknown> {
  const { generation, sample, inputTokens } = plan;
  const ms = 1e6;
  const loadNs = Math.round(Math.min(sample.ttftMs * 0.1, 50) * ms) + call.rng.int(1_000_000, 3_000_000);
  const promptNs = Math.max(Math.round(sample.ttftMs * 0.9 * ms), inputTokens * 50_000);
  const evalNs = Math.max(
    Math.round(tokenTimeMs(generation.outputTokens, sample) * ms),
    generation.outputTokens * 100_000,
  );
  const doneReason = generation.finish === 'length' ? 'length' : 'stop';
  const context =
    plan.kind === 'generate'
      ? { context: [...encodeTokens(plan.prompt).slice(-64), ...encodeTokens(generation.text)] }
      : {};
  return {
    done: true,
    done_reason: doneReason,
    ...context,
    total_duration: loadNs + promptNs + evalNs + call.rng.int(100_000, 900_000),
    load_duration: loadNs,
    prompt_eval_count: inputTokens,
    prompt_eval_duration: promptNs,
    eval_count: generation.outputTokens,
    eval_duration: evalNs,
  };
}

async function* lines(call: Call, plan: Plan): AsyncGenerator<string> {
  const { generation, model, kind } = plan;
  const line = (text: string, extra: Record<string, unknown> = {}) =>
    encodeNdjson(
      kind === 'chat'
        ? {
            model,
            created_at: createdAt(call),
            message: { role: 'assistant', content: text },
            ...extra,
            done: false,
          }
        : { model, created_at: createdAt(call), response: text, ...extra, done: false },
    );
  await call.wait(plan.sample.ttftMs);
  if (generation.toolName) {
    // Ollama parses a tool call whole and sends it in one line.
    await call.wait(plan.perToken * Math.max(0, generation.outputTokens - 1));
    yield encodeNdjson({
      model,
      created_at: createdAt(call),
      message: assistantMessage(call, generation, ''),
      done: false,
    });
  } else {
    const chunks = chunkPieces(generation.pieces, () => 1);
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await call.wait(plan.perToken * chunk.tokens);
      yield line(chunk.text);
    }
  }
  const final = finalFields(call, plan);
  const closing =
    kind === 'chat'
      ? { model, created_at: createdAt(call), message: { role: 'assistant', content: '' }, ...final }
      : { model, created_at: createdAt(call), response: '', ...final };
  yield encodeNdjson(orderDone(closing));
}

/** Real final lines put `done_reason` and `done` before the stats; keep that order. */
function orderDone(value: Record<string, unknown>): Record<string, unknown> {
  const { model, created_at, message, response, done_reason, done, ...rest } = value;
  return {
    model,
    created_at,
    ...(message !== undefined ? { message } : { response }),
    done_reason,
    done,
    ...rest,
  };
}
