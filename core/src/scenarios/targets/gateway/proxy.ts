/**
 * The chaos proxy a graded gateway's upstreams point at: one for a whole `--against` session, so the
 * gateway is configured once. Each scenario sets what it serves (its simulator behind its faults,
 * every call logged); between scenarios it serves the plain simulator.
 */
import type { Upstream } from '../../../faults/chaos/engine.ts';
import { type ChaosProxy, startChaosProxy } from '../../../faults/delivery/proxy-server.ts';
import { createSimulator } from '../../../faults/simulator/simulator.ts';
import { RealClock } from '../../../runtime/clock.ts';

export interface AgainstProxy {
  /** The proxy's origin, e.g. http://127.0.0.1:8790. */
  url: string;
  port: number;
  /** Base URLs to give the gateway for each provider. */
  upstreams: { openai: string; anthropic: string; ollama: string };
  /** What the proxy serves; undefined = the plain simulator, no faults (between scenarios). */
  setHandler(handler: Upstream | undefined): void;
  close(): Promise<void>;
}

export async function startAgainstProxy(
  options: { host?: string; port?: number } = {},
): Promise<AgainstProxy> {
  const clock = new RealClock();
  const idle = createSimulator({ clock, seed: 0 });
  let handler: Upstream | undefined;
  // The scenario's rules live in the handler's own chaos engine (so every call is logged with its
  // headers and answer); the proxy's engine has none and passes each request straight to it, and a
  // transport fault (Response.error()) still reaches the socket as a real RST / close / FIN.
  const proxy: ChaosProxy = await startChaosProxy({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    clock,
    seed: 0,
    mode: 'simulate',
    rules: [],
    upstream: (request) => (handler ?? ((r: Request) => idle.handle(r)))(request),
  });
  return {
    url: proxy.url,
    port: proxy.port,
    upstreams: { openai: `${proxy.url}/v1`, anthropic: proxy.url, ollama: proxy.url },
    setHandler: (next) => {
      handler = next;
    },
    close: () => proxy.close(),
  };
}
