import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { ConfigError } from '../../runtime/config/errors.ts';
import { redactRedisUrl } from '../../runtime/state/redis.ts';
import { CliError, EXIT, err, intOption, paint } from '../shared/output.ts';

/**
 * The router config the gateway serves when given no --config. It ships in the package's data/
 * folder, the same three folders up from src/cli/commands (in the repo) and dist/cli/commands.
 */
export const DEFAULT_GATEWAY_CONFIG = resolve(import.meta.dirname, '../../../data/gateway.default.yaml');

interface GatewayCommandOptions {
  config?: string;
  host: string;
  port: number;
  state?: string;
  statePrefix: string;
  stateBudgets: 'closed' | 'open';
}

/**
 * `switchyard gateway`: the router served over HTTP. With --config, the config's real providers
 * (keys from the environment, as the config names them); without, the shipped default router config
 * against the built-in simulator, so it runs on a fresh machine with no keys.
 */
export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description(
      'Serve the router over HTTP: OpenAI /v1/chat/completions and /v1/models, Anthropic /v1/messages, /metrics, /healthz, /readyz',
    )
    .option(
      '--config <file>',
      'router config (YAML/JSON) with an optional gateway: section (virtual keys, limits)',
    )
    .option(
      '--host <host>',
      'interface to bind (loopback by default; any other needs gateway.keys)',
      '127.0.0.1',
    )
    .option('--port <n>', 'port (0 = a free one)', intOption('--port'), 4000)
    .option(
      '--state <url>',
      'share breakers, budgets, cooldowns, latency, round-robin turns, rewrites and the cache with other replicas through Redis (redis://host:port/db)',
    )
    .option(
      '--state-prefix <prefix>',
      'prefix of every Redis key (replicas of one deployment share it)',
      'switchyard:',
    )
    .addOption(
      new Option(
        '--state-budgets <policy>',
        'budgets while Redis is unreachable: closed refuses, open spends per replica',
      )
        .choices(['closed', 'open'])
        .default('closed'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Without --config: the shipped default router config against the built-in simulator (no keys needed).',
        'Request logs: one JSON line per request on stdout. Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and',
        'the other OTEL_* variables). SIGTERM drains in-flight requests up to gateway.drainMs, then exits.',
      ].join('\n'),
    )
    .action(async (options: GatewayCommandOptions) => {
      // Tracing first, so the global tracer provider is in place before the router asks for a tracer.
      const { startTracing, loadGatewayConfig, startGateway } = await import('../../gateway/index.ts');
      const tracing = await startTracing();
      const simulated = options.config === undefined;
      const file = options.config ?? DEFAULT_GATEWAY_CONFIG;
      let config: Awaited<ReturnType<typeof loadGatewayConfig>>;
      try {
        config = await loadGatewayConfig(file);
      } catch (error) {
        if (error instanceof ConfigError)
          throw new CliError(`invalid gateway config`, EXIT.badInput, error.issues);
        throw error;
      }
      let upstream: { fetch: typeof fetch; env: Record<string, string> } | undefined;
      if (simulated) {
        const { chaosFetch, createSimulator, SIMULATED_API_KEY } = await import('../../faults/index.ts');
        const { RealClock } = await import('../../runtime/clock.ts');
        // Every key the config names is the simulator's fake one: no real key is read or sent.
        const env: Record<string, string> = {};
        for (const d of config.router.deployments)
          if (d.apiKey && 'env' in d.apiKey) env[d.apiKey.env] = SIMULATED_API_KEY;
        upstream = { fetch: chaosFetch(createSimulator({ clock: new RealClock(), seed: 1 })), env };
      }
      const store = options.state ? await connectState(options) : undefined;
      let gateway: Awaited<ReturnType<typeof startGateway>>;
      try {
        gateway = await startGateway({
          config,
          host: options.host,
          port: options.port,
          ...(upstream ? { fetch: upstream.fetch, env: upstream.env } : {}),
          ...(store ? { store } : {}),
        });
      } catch (error) {
        await store?.close();
        throw new CliError(
          `cannot start the gateway on ${options.host}:${options.port}: ${(error as Error).message}`,
        );
      }
      // The banner goes to stderr: stdout carries only the JSON request log.
      const routes = config.router.routes.map((r) => r.name).join(', ') || '(none: deployment ids)';
      err(`switchyard gateway listening on ${gateway.url}`);
      err(`  OpenAI     POST ${gateway.url}/v1/chat/completions   GET ${gateway.url}/v1/models`);
      err(`  Anthropic  POST ${gateway.url}/v1/messages`);
      err(`  metrics    GET ${gateway.url}/metrics   health GET /healthz, /readyz`);
      err(`  routes: ${routes}`);
      err(
        `  ${simulated ? `${file} against the built-in simulator (no keys needed)` : file}${config.gateway.keys.length > 0 ? `, ${config.gateway.keys.length} virtual key(s)` : ', no virtual keys (loopback only)'}${tracing ? ', tracing on' : ''}`,
      );
      if (store)
        err(
          `  state shared through ${redactRedisUrl(options.state!)} (prefix ${options.statePrefix}; budgets fail ${options.stateBudgets} while it is unreachable)`,
        );
      err(paint('dim', 'SIGTERM or Ctrl-C drains and stops', process.stderr));
      await new Promise<void>((resolveStop) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          err(paint('dim', `${signal}: draining (up to ${config.gateway.drainMs} ms)`, process.stderr));
          void gateway
            .close()
            .then(() => store?.close())
            .then(() => tracing?.shutdown())
            .then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      err('stopped');
    });
}

/** The shared state store of --state: Redis, loaded only when asked for. */
async function connectState(options: GatewayCommandOptions) {
  const { connectRedisStore } = await import('../../runtime/state/redis.ts');
  const { RealClock } = await import('../../runtime/clock.ts');
  try {
    return await connectRedisStore({
      url: options.state!,
      clock: new RealClock(),
      prefix: options.statePrefix,
      budgets: options.stateBudgets,
    });
  } catch (error) {
    throw new CliError(`--state: ${(error as Error).message}`, EXIT.badInput);
  }
}
