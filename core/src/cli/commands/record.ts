import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RouterConfigInput } from '../../runtime/config/schema.ts';
import { isSwitchyardError } from '../../runtime/errors.ts';
import type { Provider } from '../../runtime/types.ts';
import { displayPath } from '../shared/files.ts';
import { CliError, EXIT, out, paint } from '../shared/output.ts';

/** Per provider: the env var holding the key (none for a local Ollama) and a small, cheap model. */
export const RECORD_TARGETS: Record<Provider, { keyEnv?: string; model: string; baseURL?: string }> = {
  openai: { keyEnv: 'OPENAI_API_KEY', model: 'gpt-4o-mini' },
  anthropic: { keyEnv: 'ANTHROPIC_API_KEY', model: 'claude-haiku-4-5' },
  ollama: { model: 'llama3.2:latest', baseURL: process.env.OLLAMA_HOST ?? 'http://127.0.0.1:11434' },
};

interface RecordCommandOptions {
  out: string;
  provider: Provider;
  prompt: string;
  model?: string;
}

export function registerRecord(program: Command): void {
  program
    .command('record')
    .description('Record one real exchange with a provider to a cassette (nock), keys redacted')
    .requiredOption('--out <file>', 'cassette file to write (JSON)')
    .option('--provider <name>', 'openai | anthropic | ollama', 'openai')
    .requiredOption('--prompt <text>', 'the prompt to send')
    .option('--model <name>', 'model to call (default: a small one per provider)')
    .addHelpText(
      'after',
      '\nNeeds OPENAI_API_KEY or ANTHROPIC_API_KEY in the environment (Ollama: a local daemon, no key).\n' +
        'Credential headers, the key itself and anything shaped like a key are redacted before writing.',
    )
    .action(async (options: RecordCommandOptions) => {
      const target = RECORD_TARGETS[options.provider];
      if (!target)
        throw new CliError(`--provider must be openai, anthropic or ollama, got "${options.provider}"`);
      const key = target.keyEnv ? process.env[target.keyEnv] : undefined;
      if (target.keyEnv && !key) {
        throw new CliError(
          `recording talks to the real ${options.provider} API and needs a key: set ${target.keyEnv} in the environment ` +
            `(it is redacted from the cassette). To try Switchyard without keys, use \`switchyard serve\` or \`switchyard run\`.`,
          EXIT.badInput,
        );
      }
      const deployment: RouterConfigInput['deployments'][number] = {
        id: `${options.provider}/recorded`,
        provider: options.provider,
        model: options.model ?? target.model,
        ...(target.baseURL ? { baseURL: target.baseURL } : {}),
        ...(target.keyEnv ? { apiKey: { env: target.keyEnv } } : {}),
      };
      const outFile = resolve(options.out);
      const [{ record }, { Router }] = await Promise.all([
        import('../../faults/index.ts'),
        import('../../runtime/router.ts'),
      ]);
      const recording = await record({ outFile, secrets: key ? [key] : [] });
      // One attempt, no fallback: the cassette must hold exactly the exchange asked for.
      const router = new Router({
        config: {
          deployments: [deployment],
          policies: { retry: { maxAttempts: 1 }, breaker: { enabled: false } },
        },
      });
      let answer: string | undefined;
      let failure: string | undefined;
      try {
        const response = await router.complete({
          model: deployment.id,
          messages: [{ role: 'user', content: options.prompt }],
          maxOutputTokens: 200,
        });
        answer = response.text;
      } catch (error) {
        failure = isSwitchyardError(error) ? `${error.kind}: ${error.message}` : String(error);
      }
      const cassette = await recording.stop({ minInteractions: 1 });
      out(
        `${paint('green', 'recorded')} ${cassette.interactions.length} interaction(s) to ${displayPath(outFile)}`,
      );
      if (answer !== undefined) out(`answer: ${answer.replace(/\s+/g, ' ').slice(0, 200)}`);
      if (failure)
        throw new CliError(
          `the provider call failed (the cassette holds the error): ${failure}`,
          EXIT.failed,
        );
    });
}
