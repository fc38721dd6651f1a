import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  ADMIN_PREFIX,
  ADMIN_TOKEN_ENV,
  ADMIN_TOKEN_HEADER,
  isLoopback,
} from '../../faults/delivery/admin-guard.ts';
import type { ChaosProxy } from '../../faults/index.ts';
import { ConfigError } from '../../runtime/config/errors.ts';
import { CliError, EXIT, err, intOption, issuesOf, out, paint } from '../shared/output.ts';

/**
 * A serve config: the same fault entries as a scenario's `faults:` and the admin API's `PUT
 * /__switchyard/rules` (one format: faults/chaos/rule-format.ts), windows relative to start-up.
 */
async function serveConfigSchema() {
  const [{ faultSchema }, { z }] = await Promise.all([
    import('../../faults/chaos/rule-format.ts'),
    import('zod'),
  ]);
  return z.strictObject({
    $schema: z.string().optional(),
    seed: z.number().int().optional(),
    faults: z.array(faultSchema).default([]),
  });
}

type ServeConfig = {
  seed?: number | undefined;
  faults: import('../../faults/chaos/rule-format.ts').FaultSpec[];
};

/** Real provider origins for --forward; Ollama is the local daemon. */
export const FORWARD_UPSTREAMS = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
  ollama: 'http://127.0.0.1:11434',
} as const;

/**
 * The default port: 8787 was Portkey's gateway's (and wrangler's); 4747 is used by no well-known
 * LLM or dev tool.
 */
export const DEFAULT_SERVE_PORT = 4747;

interface ServeOptions {
  host: string;
  port: number;
  cors?: boolean | string;
  config?: string;
  seed?: number;
  forward?: boolean;
  allowRemote?: boolean;
  allowModelManagement?: boolean;
  adminToken?: string;
  adminHost?: string[];
}

/**
 * Binding beyond loopback: forwarding there would hand the user's keys' reach (and a local Ollama)
 * to the network, so it needs --allow-remote; simulating there only earns a warning.
 */
function checkBinding(options: ServeOptions): void {
  const name = options.host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(name)) return;
  if (options.forward && !options.allowRemote) {
    throw new CliError(
      `--forward on ${options.host} would let anyone who reaches this port call the real providers through it: bind to 127.0.0.1, or add --allow-remote if that is what you want`,
    );
  }
  err(
    paint(
      'yellow',
      `warning: ${options.host} is not a loopback address: other machines can reach this proxy` +
        (options.forward ? ' and the real providers through it' : '') +
        ' (the admin API still needs its token)',
      process.stderr,
    ),
  );
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
      'Serve the chaos proxy over the simulated providers at one origin: /v1/chat/completions, /v1/responses, /v1/embeddings (OpenAI), /v1/messages (Anthropic), /api/chat (Ollama)',
    )
    .option('--host <host>', 'interface to bind (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'port (0 = a free one)', intOption('--port'), DEFAULT_SERVE_PORT)
    .option(
      '--cors [origins]',
      'let browser pages call the proxy: any origin, or only the comma-separated ones given',
    )
    .option('--config <file>', 'YAML/JSON with fault rules: { seed?, faults: [ …as in a scenario… ] }')
    .option('--seed <n>', 'seed for the simulator and the fault plan', intOption('--seed'))
    .option('--forward', 'forward to the real providers instead of simulating (your keys pass through)')
    .option('--allow-remote', 'with --forward: allow a --host beyond loopback')
    .option(
      '--allow-model-management',
      "with --forward: pass on the providers' model-management endpoints (Ollama /api/pull, /api/delete, …)",
    )
    .option(
      '--admin-token <token>',
      `token the admin API requires (default $${ADMIN_TOKEN_ENV}, else a new one, printed on stderr)`,
    )
    .option('--admin-host <names...>', 'host names the admin API accepts besides loopback')
    .addHelpText(
      'after',
      '\nAdmin API: GET/PUT /__switchyard/rules ({ faults: [...] }, as in --config), GET /__switchyard/counters,\n' +
        `POST /__switchyard/reset, each with Authorization: Bearer <admin token> (or ${ADMIN_TOKEN_HEADER}),\n` +
        'a loopback Host and no cross-site Origin.',
    )
    .action(async (options: ServeOptions) => {
      const [{ startChaosProxy }, { toFaultRule }] = await Promise.all([
        import('../../faults/index.ts'),
        import('../../faults/chaos/rule-format.ts'),
      ]);
      const config: ServeConfig = options.config ? await readServeConfig(options.config) : { faults: [] };
      const seed = options.seed ?? config.seed ?? 1;
      checkBinding(options);
      const givenToken = options.adminToken ?? (process.env[ADMIN_TOKEN_ENV] || undefined);
      let proxy: ChaosProxy;
      try {
        proxy = await startChaosProxy({
          host: options.host,
          port: options.port,
          seed,
          rules: config.faults.map(toFaultRule),
          mode: options.forward ? 'forward' : 'simulate',
          ...(options.cors
            ? { cors: options.cors === true ? true : options.cors.split(',').map((o) => o.trim()) }
            : {}),
          ...(options.forward ? { upstreams: { ...FORWARD_UPSTREAMS } } : {}),
          ...(options.allowModelManagement ? { forwardModelManagement: true } : {}),
          ...(givenToken ? { adminToken: givenToken } : {}),
          ...(options.adminHost ? { adminHosts: options.adminHost } : {}),
        });
      } catch (error) {
        throw new CliError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
      }
      out(`listening on ${proxy.url}`);
      out(`  OpenAI     ${proxy.url}/v1/chat/completions, /v1/responses, /v1/embeddings`);
      out(`  Anthropic  ${proxy.url}/v1/messages`);
      out(`  Ollama     ${proxy.url}/api/chat`);
      out(
        `  ${options.forward ? 'forwarding to the real providers' : 'simulated providers (any non-empty key)'}, ${config.faults.length} fault rule(s), seed ${seed}`,
      );
      // Printed once, on stderr, and only when made here: a token the user gave, they already have.
      if (!givenToken)
        err(`admin token: ${proxy.adminToken}  (Authorization: Bearer <token> on ${ADMIN_PREFIX}*)`);
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
