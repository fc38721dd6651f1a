import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import type { ANTHROPIC_ROOTS } from './generate-anthropic-schemas.ts';

/**
 * Validators for the Anthropic API's response shapes as the official SDK's published types declare
 * them (anthropic-schemas.json, generated from @anthropic-ai/sdk's .d.ts files by
 * generate-anthropic-schemas.ts; Anthropic publishes no schema of its own). A field the types mark
 * as always present (`T | null` included) is required.
 *
 * `closed` validators also refuse fields the types do not declare (every object schema that lists
 * `properties` gets `additionalProperties: false`), which catches invented fields in the simulator.
 */
export type AnthropicRoot = (typeof ANTHROPIC_ROOTS)[number];

const FILE = new URL('./anthropic-schemas.json', import.meta.url);

type Json = unknown;

function close(node: Json): Json {
  if (Array.isArray(node)) return node.map(close);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, close(sub)]))
        : close(value);
  }
  if (out.properties && out.type === 'object' && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

export interface AnthropicValidators {
  /** The SDK version the schemas were generated from. */
  sdkVersion: string;
  validate(root: AnthropicRoot | (string & {}), value: unknown): { valid: boolean; errors: string };
}

export function anthropicValidators(options: { closed?: boolean } = {}): AnthropicValidators {
  const document = JSON.parse(readFileSync(FILE, 'utf8')) as { sdkVersion: string; definitions: Json };
  const ajv = new Ajv({ strict: true, allErrors: true });
  const definitions = options.closed ? close(document.definitions) : document.definitions;
  ajv.addSchema({ definitions }, 'anthropic.json');
  const cache = new Map<string, ValidateFunction>();
  return {
    sdkVersion: document.sdkVersion,
    validate(root, value) {
      let fn = cache.get(root);
      if (!fn) {
        fn = ajv.getSchema(`anthropic.json#/definitions/${root}`);
        if (!fn) throw new Error(`no schema ${root}`);
        cache.set(root, fn);
      }
      const valid = fn(value) as boolean;
      return { valid, errors: valid ? '' : ajv.errorsText(fn.errors, { separator: '\n' }) };
    },
  };
}
