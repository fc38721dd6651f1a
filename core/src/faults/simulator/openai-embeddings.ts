/**
 * OpenAI embeddings (`POST /v1/embeddings`). A vector depends only on the simulator seed, the model
 * and the input text (not on the request's position), so the same text embeds the same way in
 * every request of a run; it is unit length like OpenAI's, and `dimensions` shortens it the way
 * text-embedding-3 does (the leading components, renormalised). `encoding_format: base64` carries
 * little-endian float32s, which the official SDK asks for by default and decodes.
 */
import type { Call } from './call.ts';
import { countTokens } from './content.ts';
import {
  type Body,
  baseHeaders,
  invalid,
  json,
  readBody,
  requestModel,
  withRateHeaders,
} from './openai-shared.ts';
import { deriveSeed, hashString, Rng } from './random.ts';

const MAX_INPUTS = 2048;

export async function handleEmbeddings(call: Call): Promise<Response> {
  const body = await readBody(call);
  if (body instanceof Response) return body;
  return respond(call, body);
}

/** The inputs as texts (token arrays are embedded by their ids' text form) or a 400. */
function inputsOf(call: Call, input: unknown): string[] | Response {
  const bad = (message: string) => invalid(call, message, 'input', 'invalid_value');
  if (typeof input === 'string')
    return input === ''
      ? bad(
          "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
        )
      : [input];
  if (!Array.isArray(input) || input.length === 0) {
    return bad(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    );
  }
  if (input.length > MAX_INPUTS)
    return bad(`'$.input' is too long: at most ${MAX_INPUTS} inputs per request.`);
  // A list of token ids is one input; a list of lists is several.
  if (input.every((item) => typeof item === 'number')) return [`tokens:${input.join(',')}`];
  const texts: string[] = [];
  for (const item of input) {
    if (typeof item === 'string' && item !== '') texts.push(item);
    else if (Array.isArray(item) && item.length > 0 && item.every((t) => typeof t === 'number'))
      texts.push(`tokens:${item.join(',')}`);
    else
      return bad(
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      );
  }
  return texts;
}

function respond(call: Call, body: Body): Response | Promise<Response> {
  const found = requestModel(call, 'embeddings', body);
  if (found instanceof Response) return found;
  const { id: modelId, spec } = found;
  const embedding = spec.embedding!; // requestModel checked it
  const texts = inputsOf(call, body.input);
  if (texts instanceof Response) return texts;
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return invalid(
      call,
      `'${String(format)}' is not one of ['float', 'base64'] - 'encoding_format'`,
      'encoding_format',
      'invalid_value',
    );
  }
  let dimensions = embedding.dimensions;
  if (body.dimensions != null) {
    if (!embedding.shortenable) {
      return invalid(
        call,
        'This model does not support specifying dimensions.',
        'dimensions',
        'invalid_value',
      );
    }
    const wanted = Number(body.dimensions);
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > embedding.dimensions) {
      return invalid(
        call,
        `Invalid 'dimensions': expected an integer between 1 and ${embedding.dimensions}, but got ${String(body.dimensions)} instead.`,
        'dimensions',
        'invalid_value',
      );
    }
    dimensions = wanted;
  }
  let tokens = 0;
  for (const text of texts) {
    const count = text.startsWith('tokens:') ? text.split(',').length : countTokens(text);
    if (count > spec.contextWindow) {
      return invalid(
        call,
        `This model's maximum context length is ${spec.contextWindow} tokens, however you requested ${count} tokens (${count} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
        null,
        'context_length_exceeded',
      );
    }
    tokens += count;
  }
  const data = texts.map((text, index) => ({
    object: 'embedding',
    index,
    embedding: encode(embeddingOf(call, modelId, embedding.dimensions, text, dimensions), format),
  }));
  const sample = call.latency(modelId, spec);
  const rate = call.rateLimit(modelId, spec, tokens);
  return replyAfter(
    call,
    sample.ttftMs,
    {
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    rate,
  );
}

async function replyAfter(
  call: Call,
  ms: number,
  body: unknown,
  rate: ReturnType<Call['rateLimit']>,
): Promise<Response> {
  await call.wait(ms);
  return json(call, body, ms, withRateHeaders(baseHeaders(call, ms), rate));
}

/**
 * The model's full vector for a text (seeded by the simulator seed, model and text only), cut to
 * `dimensions` and renormalised to unit length.
 */
function embeddingOf(call: Call, modelId: string, full: number, text: string, dimensions: number): number[] {
  const rng = new Rng(deriveSeed(call.seed, hashString(modelId), hashString(text)));
  const vector = new Array<number>(full);
  for (let i = 0; i < full; i++) vector[i] = rng.normal();
  const kept = vector.slice(0, dimensions);
  const norm = Math.sqrt(kept.reduce((sum, x) => sum + x * x, 0)) || 1;
  // float32 precision, as the API returns.
  return kept.map((x) => Math.fround(x / norm));
}

function encode(vector: number[], format: unknown): number[] | string {
  if (format !== 'base64') return vector;
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
