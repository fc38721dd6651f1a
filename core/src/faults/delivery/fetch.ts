import { type Chaos, transportFaultOf } from '../chaos/engine.ts';

/**
 * The chaos handler as a `fetch`, for clients that accept one (every official SDK, and the
 * Router's `fetch` option): the most direct in-process delivery, with no interceptor and no socket,
 * so every step is promise-driven and a virtual clock can drive it deterministically.
 *
 * A transport fault comes out of the handler as `Response.error()`. Real `fetch` never resolves
 * with that: it rejects with a TypeError whose cause carries the socket error code (undici:
 * ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET "other side closed"), and that is what SDKs expect —
 * handed the bare handler they would see a response with status 0.
 */
export function chaosFetch(chaos: Pick<Chaos, 'handle'>): typeof fetch {
  return async (input, init) => {
    const response = await chaos.handle(new Request(input, init));
    if (response.type !== 'error') return response;
    const transport = transportFaultOf(response);
    const [code, message] =
      transport === 'connection_reset'
        ? ['ECONNRESET', 'read ECONNRESET']
        : transport === 'connection_refused'
          ? ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443']
          : ['UND_ERR_SOCKET', 'other side closed'];
    throw new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
  };
}
