import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Validators for the official OpenAI schemas in openai-schemas.json (OpenAPI 3.1 flavoured JSON
 * Schema 2020-12). What had to be adapted, and nothing else:
 *
 * - `nullable: true` (an OpenAPI 3.0 keyword the file still uses on 7 schemas) is rewritten to
 *   `anyOf: [<the schema>, {type: 'null'}]`. A 2020-12 validator would otherwise ignore it and reject
 *   the `null`s the API really sends (`finish_reason: null`, `usage: null`, `logprobs: null`).
 *   `finish_reason` is `{type: string, nullable, enum: [...]}` without null in the enum; the rewrite
 *   allows null there too, which is what the description and the real API do.
 * - The file is an OpenAPI `components` container, given to Ajv as one document so the original
 *   `#/components/schemas/<Name>` refs resolve unchanged; `components` is declared as a keyword.
 * - OpenAPI annotations `x-oaiMeta`, `x-oaiTypeLabel`, `x-stainless-const`, `example` and
 *   `discriminator` are declared as annotation-only keywords, so Ajv stays in strict mode (unknown
 *   keywords still throw). `discriminator` is not enforced; its `oneOf` is.
 * - The custom format `unixtime` (Unix seconds) is defined: an integer >= 0.
 * - strictTypes is off: `Model` uses `required` without `type: "object"`, valid JSON Schema that
 *   Ajv's strictTypes check refuses to compile. Every other strict check stays on.
 *
 * `closed` validators additionally close every object schema that lists `properties` (and says
 * nothing about additionalProperties), so a simulated body with a field the spec does not know fails.
 * That is stricter than the API contract (clients must ignore unknown fields) and catches invented
 * fields in the simulator.
 */

const FILE = new URL('./openai-schemas.json', import.meta.url);
// `components` is the OpenAPI container the schemas live in (the $refs point into it).
const ANNOTATIONS = [
  'components',
  'x-oaiMeta',
  'x-oaiTypeLabel',
  'x-stainless-const',
  'example',
  'discriminator',
];

export const ROOTS = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ErrorResponse',
  'ListModelsResponse',
  'Model',
] as const;
export type Root = (typeof ROOTS)[number];

type Json = unknown;

function rewrite(node: Json, close: boolean): Json {
  if (Array.isArray(node)) return node.map((item) => rewrite(item, close));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` and `$defs` hold names, not keywords: rewrite their values only.
    out[key] =
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, rewrite(sub, close)]))
        : rewrite(value, close);
  }
  if (close && out.properties && out.additionalProperties === undefined && out.type === 'object') {
    out.additionalProperties = false;
  }
  if (out.nullable === true) {
    const { nullable: _nullable, description, ...rest } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      anyOf: [rest, { type: 'null' }],
    };
  }
  if (out.nullable === false) delete out.nullable;
  return out;
}

export interface OpenAIValidators {
  validate(root: Root, value: unknown): { valid: boolean; errors: string };
}

export function openaiValidators(options: { closed?: boolean } = {}): OpenAIValidators {
  const document = JSON.parse(readFileSync(FILE, 'utf8')) as { components: unknown };
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addVocabulary(ANNOTATIONS);
  // OpenAI's own format for Unix timestamps in seconds.
  ajv.addFormat('unixtime', {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= 0,
  });
  ajv.addSchema({ components: rewrite(document.components, options.closed ?? false) }, 'openai.json');
  const cache = new Map<Root, ValidateFunction>();
  return {
    validate(root, value) {
      let fn = cache.get(root);
      if (!fn) {
        fn = ajv.getSchema(`openai.json#/components/schemas/${root}`);
        if (!fn) throw new Error(`no schema ${root}`);
        cache.set(root, fn);
      }
      const valid = fn(value) as boolean;
      return { valid, errors: valid ? '' : ajv.errorsText(fn.errors, { separator: '\n' }) };
    },
  };
}
