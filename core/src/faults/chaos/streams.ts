/**
 * Body-stream surgery for stream faults: split an upstream body into protocol frames (SSE events or
 * NDJSON lines), let a fault rewrite, drop, delay, cut or stall them, and re-emit bytes as they come
 * (no buffering of the whole stream). Every wait honours an AbortSignal and the consumer's cancel, so
 * nothing leaks when the client goes away.
 */
import type { Clock } from '../../runtime/clock.ts';

export type Framing = 'sse' | 'ndjson';

/** What to do with one frame. */
export interface FrameOp {
  /** Frames to emit instead of this one (default: the frame unchanged). */
  emit?: string[];
  /** Wait this long on the clock before emitting. */
  delayMs?: number;
  /** After emitting: end cleanly, error the body (abrupt close), or stall until aborted. */
  after?: 'end' | 'error' | 'stall';
}

export interface FrameTransform {
  /** Called once per upstream frame, in order, with its 0-based index. */
  frame(frame: string, index: number): FrameOp | undefined;
  /** Frames to add when the upstream ends normally. */
  end?(): string[];
}

interface StreamOptions {
  clock: Clock;
  signal?: AbortSignal | undefined;
}

const encoder = new TextEncoder();

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** A promise that only settles (rejects) when the signal aborts: a stall. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(abortError(signal));
    else signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
  });
}

/*
 * Requests waiting for their abort. undici's Request follows the signal it was built with through a
 * weak reference to its own controller, so a Request that nobody holds any more (the engine keeps only
 * its signal while it waits) can be collected and stop following: the caller's abort then never
 * arrives and the wait never ends. Holding the request until it aborts keeps it following.
 */
const awaitingAbort = new Set<Request>();

/** A promise that rejects when `request` is aborted, and holds the request until then. */
export function requestAborted(request: Request): Promise<never> {
  awaitingAbort.add(request);
  return untilAborted(request.signal).finally(() => awaitingAbort.delete(request));
}

/**
 * Wraps an async generator of chunks as a ReadableStream whose waits stop when either the request
 * signal aborts or the consumer cancels.
 */
function streamFrom(
  produce: (signal: AbortSignal) => AsyncGenerator<Uint8Array>,
  options: StreamOptions,
  upstream?: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  const local = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, local.signal]) : local.signal;
  const iterator = produce(signal);
  const stop = (reason: unknown) => {
    if (!local.signal.aborted) local.abort(reason);
  };
  // One listener: when the request aborts or the consumer cancels, release the upstream body too
  // (a pending read then resolves and the producer sees the abort).
  const onAbort = () => upstream?.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          // A body that ended cleanly never aborts: without this, Node kept the AbortSignal.any()
          // signal (and through the listener the request and upstream reader) alive for good, since
          // a composite signal with an abort listener is held until it aborts (found by
          // core/test/hardening/soak.test.ts: heap growing round after round).
          signal.removeEventListener('abort', onAbort);
          controller.close();
        } else controller.enqueue(next.value);
      } catch (error) {
        stop(error);
        controller.error(error);
      }
    },
    cancel(reason) {
      stop(reason);
      iterator.return(undefined).catch(() => {});
    },
  });
}

/** Reads upstream; after an abort (which cancels the reader) reports the abort, not a clean end. */
async function read(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal.aborted) throw abortError(signal);
  const result = await reader.read();
  if (signal.aborted) throw abortError(signal);
  return result;
}

function nextBoundary(buffer: string, framing: Framing): number {
  if (framing === 'ndjson') {
    const i = buffer.indexOf('\n');
    return i < 0 ? -1 : i + 1;
  }
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf < 0 && crlf < 0) return -1;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf + 2;
}

/** Applies a frame transform to a body stream. Frames keep their delimiters. */
export function transformFrames(
  body: ReadableStream<Uint8Array>,
  framing: Framing,
  transform: FrameTransform,
  options: StreamOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  async function* produce(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const decoder = new TextDecoder();
    let buffer = '';
    let index = 0;
    let upstreamDone = false;
    while (!upstreamDone) {
      const chunk = await read(reader, signal);
      if (chunk.done) {
        upstreamDone = true;
        buffer += decoder.decode();
      } else {
        buffer += decoder.decode(chunk.value, { stream: true });
      }
      for (;;) {
        let end = nextBoundary(buffer, framing);
        // A trailing frame without its delimiter still counts as a frame once the upstream ends.
        if (end < 0 && upstreamDone && buffer.length > 0) end = buffer.length;
        if (end < 0) break;
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end);
        const op = transform.frame(frame, index++);
        if (op?.delayMs) await options.clock.sleep(op.delayMs, signal);
        for (const out of op?.emit ?? [frame]) if (out.length > 0) yield encoder.encode(out);
        if (op?.after === 'end') {
          reader.cancel().catch(() => {});
          return;
        }
        if (op?.after === 'error') {
          reader.cancel().catch(() => {});
          // What fetch (undici) raises when the socket dies mid-body: TypeError 'terminated' caused by a
          // SocketError UND_ERR_SOCKET, so in-process clients see the same error as over a real socket.
          throw new TypeError('terminated (switchyard chaos: stream cut abruptly)', {
            cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
          });
        }
        if (op?.after === 'stall') await untilAborted(signal);
      }
    }
    for (const out of transform.end?.() ?? []) yield encoder.encode(out);
  }
  return streamFrom(produce, options, reader);
}

/** Re-chunks a body into pieces of `bytesPerChunk` bytes, sleeping `delayMs` before each (Toxiproxy "slicer"/"bandwidth"). */
export function sliceBytes(
  body: ReadableStream<Uint8Array>,
  bytesPerChunk: number,
  delayMs: number,
  options: StreamOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const size = Math.max(1, Math.floor(bytesPerChunk));
  async function* produce(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await read(reader, signal);
      if (chunk.done) return;
      for (let offset = 0; offset < chunk.value.byteLength; offset += size) {
        if (delayMs > 0) await options.clock.sleep(delayMs, signal);
        yield chunk.value.slice(offset, offset + size);
      }
    }
  }
  return streamFrom(produce, options, reader);
}

/** Passes bytes through, then holds the end of the body for `delayMs` (Toxiproxy "slow_close"). */
export function delayClose(
  body: ReadableStream<Uint8Array>,
  delayMs: number,
  options: StreamOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  async function* produce(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await read(reader, signal);
      if (chunk.done) break;
      yield chunk.value;
    }
    await options.clock.sleep(delayMs, signal);
  }
  return streamFrom(produce, options, reader);
}

/** Emits `prefix` bytes (possibly none) and then never completes until aborted or cancelled. */
export function stallingBody(prefix: Uint8Array, options: StreamOptions): ReadableStream<Uint8Array> {
  async function* produce(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    if (prefix.byteLength > 0) yield prefix;
    await untilAborted(signal);
  }
  return streamFrom(produce, options);
}

/** Parses the JSON of an SSE frame's data lines; undefined for [DONE], comments or non-JSON. */
export function sseData(frame: string): { event: string | undefined; data: unknown } | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of frame.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  try {
    return { event, data: JSON.parse(data.join('\n')) };
  } catch {
    return undefined;
  }
}

/** Serialises one SSE event the way the providers do (`event:` line only when named). */
export function sseFrame(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
