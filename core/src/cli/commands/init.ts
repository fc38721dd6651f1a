import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { displayPath } from '../shared/files.ts';
import { CliError, EXIT, out, paint } from '../shared/output.ts';

export const ROUTER_TEMPLATE = `# A router config: deployments (one provider + model each), routes over them, and policies.
# Keys are never written here: each deployment names the environment variable holding its key.
# Scenario runs use the built-in simulator and a fake key, so no real key is needed to run them.
deployments:
  - id: openai/gpt-4.1
    provider: openai
    model: gpt-4.1
    apiKey: { env: OPENAI_API_KEY }
  - id: anthropic/claude-sonnet-4-6
    provider: anthropic
    model: claude-sonnet-4-6
    apiKey: { env: ANTHROPIC_API_KEY }
  - id: ollama/llama3.2
    provider: ollama
    model: llama3.2:latest
    baseURL: http://127.0.0.1:11434

routes:
  - name: chat
    deployments: [openai/gpt-4.1]
    # Tried in order when OpenAI fails with an error another provider can fix.
    fallbacks: [anthropic/claude-sonnet-4-6, ollama/llama3.2]

policies:
  retry:
    maxAttempts: 3        # per deployment, first attempt included
    baseDelayMs: 250
    jitter: full          # spread retries so clients that failed together do not retry together
    retryAfterCapMs: 5000 # obey Retry-After up to 5 s, else move on to the fallback
  timeouts:
    headersMs: 10000
    firstTokenMs: 5000
    totalMs: 90000
  breaker:
    consecutiveFailures: 5 # stop calling a deployment after 5 failures in a row…
    openMs: 15000          # …for 15 s, then let a single probe through
`;

export const SCENARIO_TEMPLATE = `# yaml-language-server: $schema=./scenario.schema.json
# A chaos scenario: a load, a fault timeline on a simulated clock, and hypotheses the run must
# confirm. Run it with \`switchyard run <this file>\`; minutes of simulated time take seconds.
$schema: ./scenario.schema.json
name: my-first-scenario
description: >-
  OpenAI returns 503 for a minute. Proves the router fails over to Anthropic without losing a
  request and goes back to OpenAI once it has recovered.
seed: 1
router: { path: ./router.yaml }

load:
  rate: 2            # arrivals per second (open loop)
  duration: 3m       # simulated time
  streamShare: 0.2   # a fifth of the calls are streamed
  maxOutputTokens: [64, 192]

faults:
  - id: openai-down
    fault: service_unavailable
    target: { provider: openai }
    from: 60s
    to: 120s

hypotheses:
  - type: success_rate
    atLeast: 0.99
  - type: fallback_path
    phase: during    # requests that started inside the fault window
    deployment: anthropic/claude-sonnet-4-6
    atLeast: 0.9
  - type: breaker_opens_within
    failures: 5
  - type: recovery_time
    atMost: 30s
`;

export const SCENARIO_FILE = 'my-first-scenario.yaml';
export const ROUTER_FILE = 'router.yaml';
export const SCHEMA_FILE = 'scenario.schema.json';

/** The schema file's text: the same bytes `npm run schema` writes. */
export async function schemaText(): Promise<string> {
  const { scenarioJsonSchema } = await import('../../scenarios/index.ts');
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Scaffold a commented scenario and router config (never overwrites)')
    .argument('[dir]', 'folder to write into', 'scenarios')
    .action(async (dir: string) => {
      const target = resolve(dir);
      const files: Array<[string, string]> = [
        [ROUTER_FILE, ROUTER_TEMPLATE],
        [SCENARIO_FILE, SCENARIO_TEMPLATE],
        [SCHEMA_FILE, await schemaText()],
      ];
      const taken = [];
      for (const [name] of files)
        if (await exists(join(target, name))) taken.push(displayPath(join(target, name)));
      if (taken.length > 0)
        throw new CliError(`refusing to overwrite existing files: ${taken.join(', ')}`, EXIT.badInput);
      await mkdir(target, { recursive: true });
      // 'wx' fails rather than overwrite, should a file appear between the check and the write.
      for (const [name, text] of files) await writeFile(join(target, name), text, { flag: 'wx' });
      for (const [name] of files) out(`${paint('green', 'created')} ${displayPath(join(target, name))}`);
      out();
      out(
        `Next: switchyard validate ${displayPath(target) || '.'} && switchyard run ${displayPath(target) || '.'}`,
      );
    });
}
