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
 * - OpenAPI annotations `x-oaiMeta`, `x-oaiTypeLabel`, `x-oaiExpandable`, `x-oaiSupportedSDKs`,
 *   `x-stainless-const`, `x-stainless-skip`, `example` and `discriminator` are declared as annotation-only keywords, so Ajv stays in strict mode (unknown
 *   keywords still throw). `discriminator` is not enforced; its `oneOf` is.
 * - The custom formats `unixtime` (Unix seconds: an integer >= 0) and `float` (a finite number)
 *   are defined.
 * - strictTypes is off: `Model` uses `required` without `type: "object"`, valid JSON Schema that
 *   Ajv's strictTypes check refuses to compile. strictRequired is off: the Responses schemas split
 *   an object over `allOf` parts and list in one part's `required` what another part defines. Every
 *   other strict check stays on.
 *
 * `closed` validators additionally close every object schema that lists `properties` (and says
 * nothing about additionalProperties), so a simulated body with a field the spec does not know fails.
 * An object made of `allOf` parts is closed as a whole (`unevaluatedProperties: false`), its parts
 * left open.
 * That is stricter than the API contract (clients must ignore unknown fields) and catches invented
 * fields in the simulator.
 */

const FILE = new URL('./openai-schemas.json', import.meta.url);
// `components` is the OpenAPI container the schemas live in (the $refs point into it).
const ANNOTATIONS = [
  'components',
  'x-oaiMeta',
  'x-oaiTypeLabel',
  'x-oaiExpandable',
  'x-oaiSupportedSDKs',
  'x-stainless-const',
  'x-stainless-skip',
  'example',
  'discriminator',
];

export const ROOTS = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'Response',
  'ResponseStreamEvent',
  'CreateEmbeddingResponse',
  'ErrorResponse',
  'ListModelsResponse',
  'Model',
] as const;
export type Root = (typeof ROOTS)[number];

type Json = unknown;

/** Names of schemas used as parts of an `allOf`: closing them alone would refuse their siblings' fields. */
function allOfParts(node: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) allOfParts(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'allOf' && Array.isArray(value)) {
        for (const part of value as Array<{ $ref?: string }>)
          if (typeof part?.$ref === 'string') out.add(part.$ref.split('/').pop()!);
      }
      allOfParts(value, out);
    }
  }
  return out;
}

/**
 * `close`: objects with `properties` get `additionalProperties: false`, except the parts of an
 * `allOf` (`open`); the `allOf` itself gets `unevaluatedProperties: false`, which sees every part.
 */
function rewrite(node: Json, close: boolean, open = false): Json {
  if (Array.isArray(node)) return node.map((item) => rewrite(item, close));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` and `$defs` hold names, not keywords: rewrite their values only.
    out[key] =
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, rewrite(sub, close)]))
        : key === 'allOf' && Array.isArray(value)
          ? value.map((part) => rewrite(part, close, true))
          : rewrite(value, close);
  }
  if (close && !open && out.additionalProperties === undefined) {
    if (out.allOf) out.unevaluatedProperties = false;
    else if (out.properties && out.type === 'object') out.additionalProperties = false;
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

function rewriteSchemas(components: { schemas: Record<string, Json> }, close: boolean): Json {
  const parts = allOfParts(components.schemas);
  return {
    schemas: Object.fromEntries(
      Object.entries(components.schemas).map(([name, schema]) => [
        name,
        rewrite(schema, close, parts.has(name)),
      ]),
    ),
  };
}

export interface OpenAIValidators {
  validate(root: Root | (string & {}), value: unknown): { valid: boolean; errors: string };
}

export function openaiValidators(options: { closed?: boolean } = {}): OpenAIValidators {
  const document = JSON.parse(readFileSync(FILE, 'utf8')) as {
    components: { schemas: Record<string, Json> };
  };
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addVocabulary(ANNOTATIONS);
  // OpenAI's own format for Unix timestamps in seconds.
  ajv.addFormat('unixtime', {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= 0,
  });
  // `float` (embedding vectors) is a number format with nothing more to check.
  ajv.addFormat('float', { type: 'number', validate: (value: number) => Number.isFinite(value) });
  ajv.addSchema({ components: rewriteSchemas(document.components, options.closed ?? false) }, 'openai.json');
  const cache = new Map<string, ValidateFunction>();
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
