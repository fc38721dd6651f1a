/**
 * Anthropic publishes no OpenAPI description or JSON Schema of its API; its official TypeScript
 * SDK's published types are the contract. This script turns those types into JSON Schema with
 * ts-json-schema-generator and writes anthropic-schemas.json, which the contract tests validate the
 * simulator's bodies and stream events against (anthropic-schema.ts):
 *
 *   node core/test/faults/contract/generate-anthropic-schemas.ts
 *
 * Run it again after upgrading @anthropic-ai/sdk; anthropic-schema.test.ts fails while the file and
 * the installed SDK differ in version.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGenerator } from 'ts-json-schema-generator';

/** The SDK's types for what the API sends back. */
export const ANTHROPIC_ROOTS = [
  'Message',
  'RawMessageStreamEvent',
  'MessageTokensCount',
  'ModelInfo',
  'ErrorResponse',
] as const;

/** The installed SDK's folder (its package.json is not exported, its entry point is). */
function sdkRoot(): string {
  const entry = createRequire(import.meta.url).resolve('@anthropic-ai/sdk');
  let dir = dirname(entry);
  while (!dir.endsWith(join('node_modules', '@anthropic-ai', 'sdk'))) dir = dirname(dir);
  return dir;
}

export function installedSdkVersion(): string {
  return (JSON.parse(readFileSync(join(sdkRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function main(): void {
  const root = sdkRoot();
  const definitions: Record<string, unknown> = {};
  for (const [file, types] of [
    ['resources/messages/messages.d.ts', ['Message', 'RawMessageStreamEvent', 'MessageTokensCount']],
    ['resources/models.d.ts', ['ModelInfo']],
    ['resources/shared.d.ts', ['ErrorResponse']],
  ] as const) {
    const generator = createGenerator({
      path: join(root, file),
      type: '*',
      skipTypeCheck: true,
      expose: 'all',
      topRef: true,
      jsDoc: 'none',
      additionalProperties: true,
    });
    for (const type of types) {
      const schema = generator.createSchema(type) as { definitions?: Record<string, unknown> };
      Object.assign(definitions, schema.definitions);
    }
  }
  const sorted = Object.fromEntries(
    Object.keys(definitions)
      .sort()
      .map((name) => [name, definitions[name]]),
  );
  const out = {
    $comment: `Generated from the published types of @anthropic-ai/sdk ${installedSdkVersion()} (MIT, © Anthropic) by generate-anthropic-schemas.ts with ts-json-schema-generator. Roots: ${ANTHROPIC_ROOTS.join(', ')}.`,
    sdkVersion: installedSdkVersion(),
    definitions: sorted,
  };
  writeFileSync(new URL('./anthropic-schemas.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`${Object.keys(sorted).length} definitions`);
}

if (import.meta.main) main();
