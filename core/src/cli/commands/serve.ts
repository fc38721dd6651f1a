import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ChaosProxy } from '../../faults/index.ts';
import { ConfigError } from '../../runtime/config/errors.ts';
import { CliError, EXIT, err, intOption, issuesOf, out, paint } from '../shared/output.ts';

/** A serve config: the same fault entries as a scenario's `faults:`, windows relative to start-up. */
async function serveConfigSchema() {
  const [{ faultSchema }, { z }] = await Promise.all([import('../../scenarios/index.ts'), import('zod')]);
  return z.strictObject({
    $schema: z.string().optional(),
    seed: z.number().int().optional(),
    faults: z.array(faultSchema).default([]),
  });
}

type ServeConfig = { seed?: number | undefined; faults: import('../../scenarios/index.ts').FaultSpec[] };

/** Real provider origins for --forward; Ollama is the local daemon. */
export const FORWARD_UPSTREAMS = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  ollama: 'http://127.0.0.1:11434',
} as const;

interface ServeOptions {
  host: string;
  port: number;
  config?: string;
  seed?: number;
  forward?: boolean;
}

async function readServeConfig(file: string): Promise<ServeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const { parseYamlWithSchema } = await import('../../runtime/config/load.ts');
    return parseYamlWithSchema(text, file, await serveConfigSchema());
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`invalid serve config ${file}`, EXIT.badInput, error.issues);
    throw new CliError('invalid serve config', EXIT.badInput, issuesOf(error, file));
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve the chaos proxy over the simulated providers at one origin: /v1/chat/completions (OpenAI), /v1/messages (Anthropic), /api/chat (Ollama)',
    )
    .option('--host <host>', 'interface to bind (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'port (0 = a free one)', intOption('--port'), 8787)
    .option('--config <file>', 'YAML/JSON with fault rules: { seed?, faults: [ …as in a scenario… ] }')
    .option('--seed <n>', 'seed for the simulator and the fault plan', intOption('--seed'))
    .option('--forward', 'forward to the real providers instead of simulating (your keys pass through)')
    .addHelpText(
      'after',
      '\nAdmin API: GET/PUT /__switchyard/rules, GET /__switchyard/counters, POST /__switchyard/reset.',
    )
    .action(async (options: ServeOptions) => {
      const [{ startChaosProxy }, { toFaultRule }] = await Promise.all([
        import('../../faults/index.ts'),
        import('../../scenarios/index.ts'),
      ]);
      const config: ServeConfig = options.config ? await readServeConfig(options.config) : { faults: [] };
      const seed = options.seed ?? config.seed ?? 1;
      let proxy: ChaosProxy;
      try {
        proxy = await startChaosProxy({
          host: options.host,
          port: options.port,
          seed,
          rules: config.faults.map(toFaultRule),
          mode: options.forward ? 'forward' : 'simulate',
          ...(options.forward ? { upstreams: { ...FORWARD_UPSTREAMS } } : {}),
        });
      } catch (error) {
        throw new CliError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
      }
      out(`listening on ${proxy.url}`);
      out(`  OpenAI     ${proxy.url}/v1/chat/completions`);
      out(`  Anthropic  ${proxy.url}/v1/messages`);
      out(`  Ollama     ${proxy.url}/api/chat`);
      out(
        `  ${options.forward ? 'forwarding to the real providers' : 'simulated providers (any non-empty key)'}, ${config.faults.length} fault rule(s), seed ${seed}`,
      );
      err(paint('dim', 'Ctrl-C to stop', process.stderr));
      await new Promise<void>((resolveStop) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          err(paint('dim', `${signal}: closing`, process.stderr));
          void proxy.close().then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      out('stopped');
    });
}
