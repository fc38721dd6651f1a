/**
 * The provider side of a gateway run: every call the gateway made to the (simulated) providers, when
 * it started and ended and what it was answered, read off the wire as the chaos proxy passes it on.
 */
import { type Chaos, transportFaultOf, type Upstream } from '../../../faults/chaos/engine.ts';
import { inspectRequest } from '../../../faults/chaos/wire.ts';
import { readAnswer, requestText } from '../../../faults/simulator/read.ts';
import type { Clock } from '../../../runtime/clock.ts';
import type { ErrorKind } from '../../../runtime/errors.ts';
import { classifyHttpResponse, normalizePayloadError } from '../../../runtime/providers/normalize-error.ts';
import { parseRetryAfterMs } from '../../../runtime/providers/retry-after.ts';
import type { Provider } from '../../../runtime/types.ts';

/** The header every request to the gateway carries; a gateway that forwards it makes correlation exact. */
export const REQUEST_ID_HEADER = 'x-switchyard-request-id';

/** Text kept per upstream call (for the duplicated-text check); longer answers are cut. */
const MAX_CALL_TEXT = 1 << 20;

/** One call the gateway made to a (simulated) provider, seen from the provider's side. */
export interface UpstreamCall {
  seq: number;
  startAt: number;
  endAt?: number;
  provider: Provider | undefined;
  endpoint: string;
  model: string | undefined;
  generation: boolean;
  stream: boolean;
  /** The x-switchyard-request-id header, when the gateway forwarded it. */
  headerId: string | undefined;
  /** Every text the request body carries (messages, system, prompt), for matching the prompt. */
  bodyText: string;
  /**
   * The body's top-level parameter names, sorted and joined: a gateway that sends the same request
   * again retries it; one that drops or renames a parameter the provider refused rewrites it.
   */
  params: string;
  status?: number;
  retryAfterMs?: number;
  outcome?: 'success' | 'error' | 'aborted';
  errorKind?: ErrorKind;
  /** Answer text the provider delivered. */
  text: string;
  attributedTo?: string;
}

/**
 * The handler the proxy serves during one scenario: the scenario's chaos engine in front of its
 * simulator, every call logged with when it started and ended and what it answered.
 */
export function recordingHandler(chaos: Chaos, clock: Clock, calls: UpstreamCall[]): Upstream {
  return async (request) => {
    const info = await inspectRequest(request);
    const call: UpstreamCall = {
      seq: calls.length,
      startAt: clock.now(),
      provider: info.provider,
      endpoint: info.endpoint,
      model: info.model,
      generation: info.generation,
      stream: info.stream,
      headerId: request.headers.get(REQUEST_ID_HEADER) ?? undefined,
      bodyText: requestText(info.body),
      params: paramsOf(info.body),
      text: '',
    };
    calls.push(call);
    const finish = (outcome: UpstreamCall['outcome'], errorKind?: ErrorKind) => {
      if (call.outcome) return;
      call.endAt = clock.now();
      call.outcome = outcome;
      if (errorKind) call.errorKind = errorKind;
    };
    // No answer came, or the body broke: the gateway gave up (aborted), or the connection failed.
    const broken = () => (request.signal.aborted ? finish('aborted') : finish('error', 'network'));
    let response: Response;
    try {
      response = await chaos.handle(request, info);
    } catch (error) {
      broken();
      throw error;
    }
    if (transportFaultOf(response) !== undefined || response.type === 'error') {
      finish('error', 'network');
      return response;
    }
    call.status = response.status;
    if (response.status >= 400) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      const error = classifyHttpResponse(
        info.provider ?? 'openai',
        response.status,
        response.headers,
        new TextDecoder().decode(bytes),
        { nowMs: clock.now() },
      );
      call.retryAfterMs = error.retryAfterMs ?? parseRetryAfterMs(response.headers, clock.now());
      finish('error', error.kind);
      return new Response(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    if (!response.body) {
      finish('success');
      return response;
    }
    // Pass the body through untouched, keeping a copy of its text for the end-of-call verdict.
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          // Cut mid-body (stream_cut, a reset): what the gateway gets is a broken body.
          broken();
          call.text = readAnswer(info.provider, info.stream, raw).text;
          controller.error(error);
          return;
        }
        if (next.done) {
          raw += decoder.decode();
          const answer = readAnswer(info.provider, info.stream, raw);
          call.text = answer.text;
          if (answer.error) {
            const kind = normalizePayloadError(answer.error, {
              provider: info.provider ?? 'unknown',
              response: { status: response.status, headers: response.headers },
            }).kind;
            finish('error', kind);
          } else if (answer.cut) finish('error', 'network');
          else if (answer.malformed) finish('error', 'malformed_response');
          else finish('success');
          controller.close();
          return;
        }
        if (raw.length < MAX_CALL_TEXT) raw += decoder.decode(next.value, { stream: true });
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        // The gateway stopped reading (it gave up, or a hedge won elsewhere).
        call.text = readAnswer(info.provider, info.stream, raw).text;
        finish('aborted');
        await reader.cancel(reason).catch(() => {});
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function paramsOf(body: unknown): string {
  return body && typeof body === 'object' ? Object.keys(body).sort().join(',') : '';
}
