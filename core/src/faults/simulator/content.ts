import type { Faker } from '@faker-js/faker';
import { loadFaker, loadO200k } from '../../lazy.ts';
import type { Rng } from './random.ts';

/**
 * Token counts use o200k (GPT-4o family). That is exact for OpenAI's current models and an
 * approximation for Claude and Ollama models, whose tokenizers are not public or differ.
 */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : encodeTokens(text).length;
}

/** o200k token ids of a text. */
export function encodeTokens(text: string): number[] {
  return loadO200k().encode(text);
}

/** Text of an OpenAI/Anthropic/Ollama message `content` (string or array of parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content);
  return content
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part && typeof part === 'object') {
        const p = part as Record<string, unknown>;
        if (typeof p.text === 'string') return p.text;
        if ('content' in p) return contentText(p.content);
        if ('input' in p) return JSON.stringify(p.input);
      }
      return '';
    })
    .join('\n');
}

/** Input tokens of a list of messages: OpenAI's cookbook formula (3 per message + 3 for the reply). */
export function estimateInputTokens(messages: readonly unknown[], extra: readonly string[] = []): number {
  let total = 3;
  for (const message of messages) {
    const m = (message ?? {}) as Record<string, unknown>;
    total += 3 + countTokens(contentText(m.content));
    if (m.tool_calls) total += countTokens(JSON.stringify(m.tool_calls));
  }
  for (const text of extra) total += countTokens(text);
  return total;
}

export type JsonSchema = Record<string, unknown>;

export interface GenerationInput {
  /** Per-request seed: drives faker. */
  seed: number;
  rng: Rng;
  /** Output token budget; undefined = the model's own natural length. */
  maxTokens?: number;
  stop?: readonly string[];
  /** JSON output: `true` for a free JSON object, or a JSON Schema to follow. */
  json?: true | JsonSchema;
  /** When set, the reply is a call of this tool instead of text. */
  tool?: { name: string; parameters?: JsonSchema };
  /** Tokens spent on hidden reasoning first (OpenAI reasoning models); they count against maxTokens. */
  reasoningTokens?: number;
}

export type GenerationFinish = 'end' | 'length' | 'stop_sequence' | 'tool';

export interface Generation {
  /** Visible text (for a tool call: the JSON arguments). */
  text: string;
  /** `text` split at token boundaries (each piece decodes cleanly); joined they equal `text`. */
  pieces: string[];
  /** Visible output tokens (pieces.length); excludes reasoning tokens. */
  outputTokens: number;
  reasoningTokens: number;
  finish: GenerationFinish;
  stopSequence: string | null;
  toolName?: string;
}

// Building a Faker is costly (it was a third of a scenario run's time when made per request).
// generate() is synchronous, so one shared instance reseeded per call draws exactly the sequence a
// fresh instance with the same seed would.
// The en-only faker (built as new Faker({ locale: [en, base] })), loaded on the first generation.
function makeFaker(seed: number): Faker {
  const { faker } = loadFaker();
  faker.seed(seed);
  return faker;
}

function naturalText(faker: Faker, targetTokens: number): string {
  const sentences: string[] = [];
  let tokens = 0;
  while (tokens < targetTokens) {
    // Mix English-ish phrases with lorem so text reads like prose and tokenizes realistically.
    const sentence =
      faker.number.int(3) === 0 ? faker.lorem.sentence({ min: 5, max: 14 }) : faker.hacker.phrase();
    sentences.push(sentence);
    tokens += countTokens(sentence) + 1;
    if (faker.number.int(5) === 0 && tokens < targetTokens) sentences.push('\n\n');
  }
  return sentences.join(' ').replace(/ ?\n\n ?/g, '\n\n');
}

/** A value that satisfies (the common subset of) a JSON Schema. */
export function valueFromSchema(schema: JsonSchema | undefined, faker: Faker, key = '', depth = 0): unknown {
  if (!schema || typeof schema !== 'object') return faker.lorem.word();
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return faker.helpers.arrayElement(schema.enum);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    const nonNull = alternatives.find((s) => s?.type !== 'null') ?? alternatives[0];
    return valueFromSchema(nonNull, faker, key, depth);
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? type[0];
  if (type === undefined) type = schema.properties ? 'object' : schema.items ? 'array' : 'string';
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth > 6) return out;
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      for (const [name, sub] of Object.entries(props))
        out[name] = valueFromSchema(sub, faker, name, depth + 1);
      return out;
    }
    case 'array': {
      const min = num(schema.minItems, 1);
      const max = Math.max(min, num(schema.maxItems, Math.max(min, 3)));
      const count = depth > 6 ? 0 : faker.number.int({ min, max });
      return Array.from({ length: count }, () =>
        valueFromSchema(schema.items as JsonSchema | undefined, faker, key, depth + 1),
      );
    }
    case 'integer':
      return faker.number.int({ min: num(schema.minimum, 0), max: num(schema.maximum, 100) });
    case 'number':
      return faker.number.float({
        min: num(schema.minimum, 0),
        max: num(schema.maximum, 100),
        fractionDigits: 2,
      });
    case 'boolean':
      return faker.datatype.boolean();
    case 'null':
      return null;
    default:
      return stringFor(schema, faker, key);
  }
}

function stringFor(schema: JsonSchema, faker: Faker, key: string): string {
  const k = key.toLowerCase();
  if (schema.format === 'date-time') return faker.date.past().toISOString();
  if (schema.format === 'date') return faker.date.past().toISOString().slice(0, 10);
  if (schema.format === 'email' || k.includes('email')) return faker.internet.email();
  if (schema.format === 'uri' || k.includes('url')) return faker.internet.url();
  if (k.includes('city') || k.includes('location')) return faker.location.city();
  if (k.includes('country')) return faker.location.country();
  if (k === 'name' || k.endsWith('_name') || k.endsWith('name')) return faker.person.fullName();
  if (k.includes('unit')) return faker.helpers.arrayElement(['celsius', 'fahrenheit']);
  if (k.includes('query') || k.includes('text') || k.includes('description')) return faker.hacker.phrase();
  return faker.lorem.words({ min: 1, max: 3 });
}

function defaultJsonObject(faker: Faker): Record<string, unknown> {
  return {
    answer: faker.hacker.phrase(),
    confidence: faker.number.float({ min: 0, max: 1, fractionDigits: 2 }),
    tags: faker.lorem.words(3).split(' '),
    source: faker.internet.domainName(),
  };
}

/** Splits text into token pieces; merges pieces that would split a multi-byte character. */
function tokenPieces(tokens: readonly number[]): string[] {
  const { decode } = loadO200k();
  const pieces: string[] = [];
  let pending: number[] = [];
  for (const token of tokens) {
    pending.push(token);
    const text = decode(pending);
    if (!text.includes('\uFFFD')) {
      pieces.push(text);
      pending = [];
    }
  }
  if (pending.length > 0) pieces.push(decode(pending));
  return pieces;
}

export function generate(input: GenerationInput): Generation {
  const faker = makeFaker(input.seed);
  let text: string;
  if (input.tool) {
    text = JSON.stringify(valueFromSchema(input.tool.parameters ?? { type: 'object' }, faker));
  } else if (input.json) {
    text = JSON.stringify(
      input.json === true ? defaultJsonObject(faker) : valueFromSchema(input.json, faker),
    );
  } else {
    // Natural answer length: mostly short, sometimes long (lognormal around ~70 tokens).
    const target = Math.min(900, Math.max(8, Math.round(70 * Math.exp(0.6 * input.rng.normal()))));
    text = naturalText(faker, target);
  }

  let finish: GenerationFinish = input.tool ? 'tool' : 'end';
  let stopSequence: string | null = null;
  if (!input.tool && input.stop && input.stop.length > 0) {
    // The earliest match wins, as when a model emits tokens left to right.
    let cut = -1;
    for (const stop of input.stop) {
      if (!stop) continue;
      const at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        stopSequence = stop;
      }
    }
    if (cut >= 0) {
      text = text.slice(0, cut);
      finish = 'stop_sequence';
    }
  }

  const reasoningTokens = input.reasoningTokens ?? 0;
  const { decode, encode } = loadO200k();
  let tokens = encode(text);
  if (input.maxTokens !== undefined) {
    const visibleBudget = Math.max(0, input.maxTokens - reasoningTokens);
    if (reasoningTokens >= input.maxTokens) {
      // Reasoning used the whole budget: OpenAI returns empty content with finish_reason length.
      return {
        text: '',
        pieces: [],
        outputTokens: 0,
        reasoningTokens: input.maxTokens,
        finish: 'length',
        stopSequence: null,
      };
    }
    if (tokens.length > visibleBudget) {
      tokens = tokens.slice(0, visibleBudget);
      text = decode(tokens);
      finish = 'length';
      stopSequence = null;
    }
  }
  const pieces = tokenPieces(tokens);
  return {
    text: pieces.join(''),
    pieces,
    outputTokens: tokens.length,
    reasoningTokens,
    finish,
    stopSequence,
    ...(input.tool ? { toolName: input.tool.name } : {}),
  };
}

/** Groups pieces into chunks of `size(i)` pieces (providers differ in how many tokens a delta carries). */
export function chunkPieces(
  pieces: readonly string[],
  size: () => number,
): Array<{ text: string; tokens: number }> {
  const out: Array<{ text: string; tokens: number }> = [];
  for (let i = 0; i < pieces.length; ) {
    const n = Math.max(1, size());
    out.push({ text: pieces.slice(i, i + n).join(''), tokens: Math.min(n, pieces.length - i) });
    i += n;
  }
  return out;
}
