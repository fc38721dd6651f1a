/**
 * What the simulated OpenAI endpoints share: authentication, error envelopes, headers, the request
 * parameters each endpoint knows, tool choice and reasoning-token accounting.
 */
import type { Call, RateLimitState } from './call.ts';
import { formatResetDuration } from './call.ts';
import type { JsonSchema } from './content.ts';
import type { ModelSpec, ParamRule } from './models.ts';
import { lookupModel } from './models.ts';
import type { Rng } from './random.ts';
import type { ErrorSpec } from './wire.ts';
import { errorResponse, JSON_CONTENT_TYPE, openaiRequestId } from './wire.ts';

export type Body = Record<string, unknown>;

export const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

const MISSING_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.";

/**
 * The body parameters each endpoint accepts: the `properties` of CreateChatCompletionRequest,
 * CreateResponse and CreateEmbeddingRequest (with their allOf parts) in the official OpenAPI
 * description, version 2.3.0. Anything else is answered with a 400, as the API does.
 * core/test/faults/contract/openai-params.test.ts checks these lists against the spec.
 */
export const KNOWN_PARAMS = {
  chat: new Set([
    ...['metadata', 'top_logprobs', 'temperature', 'top_p', 'user', 'safety_identifier'],
    ...['prompt_cache_key', 'prompt_cache_retention', 'prompt_cache_options', 'messages', 'model'],
    ...['service_tier', 'modalities', 'verbosity', 'reasoning_effort', 'max_completion_tokens'],
    ...['frequency_penalty', 'presence_penalty', 'web_search_options', 'response_format', 'audio'],
    ...['store', 'moderation', 'stream', 'stop', 'logit_bias', 'logprobs', 'max_tokens', 'n'],
    ...['prediction', 'seed', 'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls'],
    ...['function_call', 'functions'],
  ]),
  responses: new Set([
    ...['metadata', 'top_logprobs', 'temperature', 'top_p', 'user', 'safety_identifier'],
    ...['prompt_cache_key', 'prompt_cache_retention', 'prompt_cache_options', 'previous_response_id'],
    ...['model', 'background', 'max_tool_calls', 'text', 'tools', 'tool_choice', 'prompt'],
    ...['service_tier', 'truncation', 'reasoning', 'input', 'include', 'parallel_tool_calls', 'store'],
    ...['instructions', 'moderation', 'stream', 'stream_options', 'conversation'],
    ...['context_management', 'max_output_tokens'],
  ]),
  embeddings: new Set(['input', 'model', 'encoding_format', 'dimensions', 'user']),
} as const;

export function fail(call: Call, status: number, spec: Omit<ErrorSpec, 'requestId'>): Response {
  return errorResponse('openai', status, { ...spec, requestId: openaiRequestId(call.rng) });
}

export const invalid = (
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

export function checkAuth(call: Call): Response | undefined {
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

export function modelNotFound(call: Call, model: string): Response {
  return invalid(
    call,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    null,
    'model_not_found',
    404,
  );
}

/**
 * The checks every endpoint starts with, in the API's order: unknown body parameters, then the
 * model (named, known, and of the endpoint's kind: chat endpoints refuse embedding models and the
 * embeddings endpoint chat models, with the API's wording).
 */
export function requestModel(
  call: Call,
  endpoint: keyof typeof KNOWN_PARAMS,
  body: Body,
): { id: string; spec: ModelSpec } | Response {
  const unknown = unknownParam(call, endpoint, body);
  if (unknown) return unknown;
  if (typeof body.model !== 'string' || !body.model) {
    return endpoint === 'responses'
      ? invalid(call, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter')
      : invalid(call, 'you must provide a model parameter');
  }
  const found = lookupModel(call.models, 'openai', body.model);
  if (!found) return modelNotFound(call, body.model);
  if (endpoint === 'embeddings' && !found.spec.embedding) {
    return invalid(call, `This model does not support embeddings: ${body.model}.`, 'model', 'invalid_model');
  }
  if (endpoint !== 'embeddings' && found.spec.embedding) {
    return invalid(
      call,
      'This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?',
      'model',
      null,
      404,
    );
  }
  return found;
}

/** The request body as a JSON object, or the API's 400 when it is not one. */
export async function readBody(call: Call): Promise<Body | Response> {
  try {
    const body = JSON.parse(await call.request.text()) as Body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body;
  } catch {
    return invalid(call, INVALID_JSON);
  }
}

/**
 * A 400 for the first body parameter the endpoint does not know. Chat completions answers with its
 * older wording (no param, no code); the Responses API names the parameter.
 */
export function unknownParam(
  call: Call,
  endpoint: keyof typeof KNOWN_PARAMS,
  body: Body,
): Response | undefined {
  const known = KNOWN_PARAMS[endpoint];
  const name = Object.keys(body).find((key) => !known.has(key));
  if (name === undefined) return undefined;
  if (endpoint === 'responses') {
    return invalid(call, `Unknown parameter: '${name}'.`, name, 'unknown_parameter');
  }
  return invalid(call, `Unrecognized request argument supplied: ${name}`);
}

export function json(call: Call, body: unknown, processingMs: number, extra?: Headers): Response {
  const headers = extra ?? baseHeaders(call, processingMs);
  headers.set('content-type', JSON_CONTENT_TYPE);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

export function baseHeaders(call: Call, processingMs: number): Headers {
  return new Headers({
    'openai-version': '2020-10-01',
    'openai-organization': 'switchyard-sim',
    'openai-processing-ms': String(Math.round(processingMs)),
    'x-request-id': openaiRequestId(call.rng),
  });
}

export function withRateHeaders(headers: Headers, rate: RateLimitState): Headers {
  headers.set('x-ratelimit-limit-requests', String(rate.requestsLimit));
  headers.set('x-ratelimit-limit-tokens', String(rate.tokensLimit));
  headers.set('x-ratelimit-remaining-requests', String(rate.requestsRemaining));
  headers.set('x-ratelimit-remaining-tokens', String(rate.tokensRemaining));
  headers.set('x-ratelimit-reset-requests', formatResetDuration(rate.requestsResetMs));
  headers.set('x-ratelimit-reset-tokens', formatResetDuration(rate.tokensResetMs));
  return headers;
}

export function checkParamRules(call: Call, rules: readonly ParamRule[], body: Body): Response | undefined {
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

export interface FunctionTool {
  name: string;
  parameters?: JsonSchema;
}

/**
 * Which function (if any) the simulated model calls: the named one, the first when a call is
 * required, and under `auto` the first when the user spoke last. `choice` is the request's
 * tool_choice already reduced to 'none' | 'auto' | 'required' | { name }.
 */
export function pickTool(
  functions: readonly FunctionTool[],
  choice: 'none' | 'auto' | 'required' | { name: string | undefined },
  userSpokeLast: boolean,
): FunctionTool | undefined {
  if (functions.length === 0 || choice === 'none') return undefined;
  let fn: FunctionTool | undefined;
  if (typeof choice === 'object') fn = functions.find((f) => f.name === choice.name);
  else if (choice === 'required' || userSpokeLast) fn = functions[0];
  return fn ? { name: fn.name, ...(fn.parameters ? { parameters: fn.parameters } : {}) } : undefined;
}

/** How much hidden reasoning each effort level buys, relative to `medium` (the API's default). */
const EFFORT_SCALE: Record<string, number> = { none: 0, minimal: 0, low: 0.25, medium: 1, high: 3, xhigh: 4 };

/**
 * Reasoning tokens for one answer of a reasoning model: a draw scaled by the requested effort, and
 * never more than half the output limit, so visible text still fits (the real models keep room for
 * the answer unless the limit is tiny). Non-reasoning models draw nothing.
 */
export function reasoningTokens(
  call: Call,
  spec: ModelSpec,
  effort: unknown,
  maxTokens: number | undefined,
): number | undefined {
  if (!spec.reasoning) return undefined;
  const drawn = call.rng.int(64, 448);
  const scale = typeof effort === 'string' ? (EFFORT_SCALE[effort] ?? 1) : 1;
  const tokens = Math.round(drawn * scale);
  return maxTokens === undefined ? tokens : Math.min(tokens, Math.floor(maxTokens / 2));
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

const utf8 = new TextEncoder();
const bytesOf = (text: string) => [...utf8.encode(text)];

/**
 * Log probabilities for the pieces of an answer: the chosen token is always the likeliest, and
 * `top` alternatives (other pieces of the same answer) follow in falling order. Drawn from their own
 * stream (`rng`), so asking for logprobs never changes the text, the ids or the timing.
 */
export function tokenLogprobs(pieces: readonly string[], rng: Rng, top: number): TokenLogprob[] {
  return pieces.map((token) => {
    let logprob = -Math.round(rng.next() ** 3 * 2_000_000) / 1_000_000;
    const entry = { token, logprob, bytes: bytesOf(token) };
    const alternatives = [entry];
    for (let i = 1; i < top; i++) {
      logprob -= 0.5 + rng.next() * 3;
      const other = pieces[rng.int(0, pieces.length - 1)] ?? token;
      alternatives.push({ token: other, logprob: Math.round(logprob * 1e6) / 1e6, bytes: bytesOf(other) });
    }
    return { ...entry, top_logprobs: top > 0 ? alternatives : [] };
  });
}
