import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGES_PARAMS } from '../../../src/faults/simulator/anthropic.ts';
import { KNOWN_PARAMS } from '../../../src/faults/simulator/openai-shared.ts';

/**
 * The body parameters the simulator accepts (anything else is a 400) are the ones the contracts
 * define: the request schemas of the OpenAI spec (openai-schemas.json), and MessageCreateParams in
 * the official Anthropic SDK's published types. A new parameter in either shows up here.
 */
type Schema = { $ref?: string; properties?: Record<string, unknown>; allOf?: Schema[] };
const schemas = (
  JSON.parse(readFileSync(new URL('./openai-schemas.json', import.meta.url), 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  }
).components.schemas;

function properties(schema: Schema): string[] {
  if (schema.$ref) return properties(schemas[schema.$ref.split('/').pop()!]!);
  return [...Object.keys(schema.properties ?? {}), ...(schema.allOf ?? []).flatMap(properties)];
}

describe('OpenAI: the parameters each simulated endpoint accepts are the spec’s', () => {
  it.each([
    ['chat', 'CreateChatCompletionRequest'],
    ['responses', 'CreateResponse'],
    ['embeddings', 'CreateEmbeddingRequest'],
  ] as const)('%s = %s', (endpoint, schema) => {
    expect([...KNOWN_PARAMS[endpoint]].sort()).toEqual([...new Set(properties(schemas[schema]!))].sort());
  });
});

/** Top-level fields of an exported interface in a .d.ts file (4-space indented `name?:` lines). */
function interfaceFields(file: string, name: string): string[] {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`export interface ${name} {`);
  const body = text.slice(start, text.indexOf('\n}\n', start));
  return [...body.matchAll(/^ {4}([a-z_]+)\??:/gm)].map((m) => m[1]!);
}

describe('Anthropic: the parameters the simulated Messages API accepts are the SDK’s', () => {
  it('MessageCreateParamsBase (GA and beta) plus the documented sampling parameters', () => {
    const entry = createRequire(import.meta.url).resolve('@anthropic-ai/sdk');
    let root = dirname(entry);
    while (!root.endsWith(join('node_modules', '@anthropic-ai', 'sdk'))) root = dirname(root);
    const fields = new Set([
      ...interfaceFields(join(root, 'resources/messages/messages.d.ts'), 'MessageCreateParamsBase'),
      ...interfaceFields(join(root, 'resources/beta/messages/messages.d.ts'), 'MessageCreateParamsBase'),
      'temperature',
      'top_p',
      'top_k',
    ]);
    // `betas` is sent as the anthropic-beta header, not in the body.
    fields.delete('betas');
    expect([...MESSAGES_PARAMS].sort()).toEqual([...fields].sort());
  });
});
