import type { Clock } from '../../runtime/clock.ts';
import type { Provider } from '../../runtime/types.ts';
import { handleAnthropic } from './anthropic.ts';
import type { Call } from './call.ts';
import { callFactory } from './call.ts';
import type { LatencyProfile } from './latency.ts';
import type { ModelCatalogue } from './models.ts';
import { defaultCatalogue } from './models.ts';
import { handleOllama } from './ollama.ts';
import { handleOpenAI } from './openai.ts';
import { errorResponse } from './wire.ts';

/**
 * The key to give deployments that talk to the simulator: it accepts any non-empty key by default,
 * and a fixed, obvious fake keeps real keys out of simulated runs.
 */
export const SIMULATED_API_KEY = 'sk-test-not-a-real-key';

export interface SimulatorOptions {
  clock: Clock;
  seed: number;
  /** Defaults to the built-in catalogue (context windows from core/data/prices.json when present). */
  models?: ModelCatalogue;
  /** Latency profile by model id; the key '*' applies to every model not listed. */
  latency?: Partial<Record<string, LatencyProfile>>;
  /** Which API keys authenticate (default: any non-empty key). Ollama needs no key. */
  acceptKey?: (provider: 'openai' | 'anthropic', key: string) => boolean;
}

export interface Simulator {
  /**
   * Handles one provider HTTP request (any endpoint below) and returns the provider's exact response.
   * Streams pace their chunks on options.clock. Rejects with the abort reason when request.signal
   * aborts before the response headers; an abort later ends the body and clears every timer.
   */
  handle(request: Request): Promise<Response>;
}

/** Which provider API a path belongs to. `/v1/models` is OpenAI's unless an anthropic-version header says otherwise (see handle). */
export function providerOfPath(pathname: string): Provider | undefined {
  if (pathname === '/v1/messages' || pathname.startsWith('/v1/messages/')) return 'anthropic';
  if (pathname.startsWith('/api/')) return 'ollama';
  if (pathname.startsWith('/v1/')) return 'openai';
  return undefined;
}

/** Which provider a request is for: by its path, and Anthropic's GET /v1/models by its anthropic-version header. */
export function providerOf(pathname: string, headers?: Headers): Provider | undefined {
  const byPath = providerOfPath(pathname);
  // Anthropic also serves GET /v1/models; its SDK always sends anthropic-version.
  if (byPath === 'openai' && headers?.has('anthropic-version') && pathname.startsWith('/v1/models')) {
    return 'anthropic';
  }
  return byPath;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const makeCall = callFactory({ ...options, models: options.models ?? defaultCatalogue() });
  return {
    handle(request) {
      if (request.signal.aborted) return Promise.reject(request.signal.reason);
      try {
        const call = makeCall(request);
        return dispatch(call, providerOf(call.pathname, request.headers));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

async function dispatch(call: Call, provider: Provider | undefined): Promise<Response> {
  try {
    switch (provider) {
      case 'openai':
        return await handleOpenAI(call);
      case 'anthropic':
        return await handleAnthropic(call);
      case 'ollama':
        return await handleOllama(call);
      default:
        return new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain' } });
    }
  } catch (error) {
    if (call.signal.aborted) throw call.signal.reason;
    // A simulator bug must still look like a provider's own 500, not crash the transport.
    const message = `The server had an error while processing your request. (${String(error)})`;
    return errorResponse(provider ?? 'openai', 500, {
      type: provider === 'anthropic' ? 'api_error' : 'server_error',
      message,
    });
  }
}
