/**
 * Refreshes openai-schemas.json from the official OpenAPI description (MIT, © OpenAI):
 *
 *   node core/test/faults/contract/extract-openai-schemas.ts path/to/openapi.yaml
 *
 * Copies the ROOTS below and every schema they reference, unchanged, from `components.schemas`. The
 * tests read only the copy; nothing in the project reads the full description.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

export const EXTRACTED_ROOTS = [
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'CreateResponse',
  'Response',
  'ResponseStreamEvent',
  'CreateEmbeddingRequest',
  'CreateEmbeddingResponse',
  'ErrorResponse',
  'ListModelsResponse',
  'Model',
];

function main(path: string): void {
  const spec = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as {
    info: { version: string };
    components: { schemas: Record<string, unknown> };
  };
  const all = spec.components.schemas;
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    if (!(name in all)) throw new Error(`the spec has no schema ${name}`);
    seen.add(name);
    walk(all[name]);
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') visit(value.split('/').pop()!);
        else walk(value);
      }
    }
  };
  EXTRACTED_ROOTS.forEach(visit);
  const schemas = Object.fromEntries([...seen].sort().map((name) => [name, all[name]]));
  const out = {
    $comment: `Extracted from openai/openai-openapi (MIT licence), openapi.yaml version ${spec.info.version}, components.schemas, by extract-openai-schemas.ts. Roots: ${EXTRACTED_ROOTS.join(', ')}. $refs point at #/components/schemas/<Name> and all are included.`,
    components: { schemas },
  };
  writeFileSync(new URL('./openai-schemas.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`${seen.size} schemas`);
}

if (import.meta.main) main(process.argv[2] ?? 'openapi.yaml');
