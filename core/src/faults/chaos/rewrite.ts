/**
 * Rewriting an upstream answer, for any provider: its stream frame by frame, its text and finish
 * reason (through the request's dialect), and the point where a stream fault strikes.
 */
import type { Finish, ProviderDialect, TextEdit } from './dialect.ts';
import { type FaultContext, type FaultParams, num, type ParamSpec, type ResponseTransform } from './fault.ts';
import { type FrameOp, type FrameTransform, transformFrames } from './streams.ts';
import type { RequestInfo } from './wire.ts';

/** Copies response headers minus those that no longer describe a rewritten body. */
export function rewrittenHeaders(response: Response): Headers {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return headers;
}

/** The response with another body (its status, and the headers that still describe it). */
export function withBody(response: Response, body: BodyInit | null): Response {
  return new Response(body, { status: response.status, headers: rewrittenHeaders(response) });
}

/** Rewrites the upstream body frame by frame when it is a stream (pass-through otherwise). */
export function onStream(make: (ctx: FaultContext) => FrameTransform): ResponseTransform {
  return (response, ctx) => {
    if (!response.ok || !response.body) return response;
    return withBody(response, transformFrames(response.body, ctx.dialect.framing, make(ctx), ctx));
  };
}

/** A stateful text rewriter applied to every text delta of one response, in order. */
export interface TextEditor {
  edit: TextEdit;
  /** How the answer was cut short, reported instead of the upstream's finish reason. */
  finish?: Finish;
}

/** Rewrites text and finish reason in a JSON body or a stream, in the provider's own format. */
export function contentTransform(makeEditor: () => TextEditor): ResponseTransform {
  return async (response, ctx) => {
    if (!response.ok) return response;
    const editor = makeEditor();
    const finish = editor.finish ? ctx.dialect.finishes[editor.finish] : undefined;
    const edit = (text: string) => editor.edit(text);
    if (ctx.info.stream && response.body) {
      const frame = ctx.dialect.frameEditor(edit, finish, ctx.info);
      return onStream(() => ({ frame }))(response, ctx);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return withBody(response, text);
    }
    ctx.dialect.editAnswer(json, edit, finish, ctx.info);
    return withBody(response, JSON.stringify(json));
  };
}

/** Keeps the first `maxChars` characters of the answer's text, then nothing. */
export function budgetEditor(maxChars: number, finish?: Finish): TextEditor {
  let remaining = Math.max(0, Math.floor(maxChars));
  return {
    edit(text) {
      const kept = text.slice(0, remaining);
      remaining -= kept.length;
      return kept;
    },
    ...(finish ? { finish } : {}),
  };
}

/** Where a stream fault strikes, given by one of these parameters (at most one). */
export const STRIKE_PARAMS = ['afterChunks', 'afterChars', 'afterTokens'] as const;
const UNSET = -1;

export function strikeParams(chunksDefault: number, what: string): Record<string, ParamSpec> {
  return {
    afterChunks: {
      type: 'number',
      default: chunksDefault,
      min: 0,
      description: `Chunks (SSE events / NDJSON lines) delivered ${what}.`,
    },
    afterChars: {
      type: 'number',
      default: UNSET,
      min: UNSET,
      description: `Characters of answer text delivered ${what} (the chunk that reaches them is cut there); -1: not used.`,
    },
    afterTokens: {
      type: 'number',
      default: UNSET,
      min: UNSET,
      description: `Text deltas delivered ${what} (a provider sends about one token per delta); -1: not used.`,
    },
  };
}

/**
 * The point where a stream fault strikes: after N frames, N characters of text, or N text deltas.
 * Returns, per frame, undefined to pass it, or the frames to emit before striking (the frame that
 * reaches N characters goes out cut to exactly N). A terminator is never let through.
 */
export function strikePoint(
  dialect: ProviderDialect,
  info: RequestInfo,
  params: FaultParams,
): (frame: string, index: number) => { before: string[] } | undefined {
  const chars = num(params, 'afterChars');
  const tokens = num(params, 'afterTokens');
  const chunks = num(params, 'afterChunks');
  // One editor reads the text deltas of every frame; what it does with them depends on the strike.
  let onText: TextEdit = (text) => text;
  const read = dialect.frameEditor((text) => onText(text), undefined, info);
  if (chars !== UNSET) {
    let seen = 0;
    let reached = false;
    onText = (text) => {
      const kept = text.slice(0, Math.max(0, chars - seen));
      seen += kept.length;
      reached = seen >= chars;
      return kept;
    };
    return (frame) => {
      if (dialect.isTerminalFrame(frame)) return { before: [] };
      reached = false;
      const op = read(frame);
      return reached ? { before: op?.emit ?? [frame] } : undefined;
    };
  }
  if (tokens !== UNSET) {
    let deltas = 0;
    let text = false;
    onText = (t) => {
      text = true;
      return t;
    };
    return (frame) => {
      if (dialect.isTerminalFrame(frame)) return { before: [] };
      text = false;
      read(frame);
      if (!text) return undefined;
      if (deltas >= tokens) return { before: [] };
      deltas++;
      return undefined;
    };
  }
  return (frame, index) => (index >= chunks || dialect.isTerminalFrame(frame) ? { before: [] } : undefined);
}

/** Strikes a stream at its strike point: the frames before it, then `then` (what comes instead of the rest). */
export function strikeStream(
  params: FaultParams,
  then: (index: number, ctx: FaultContext) => FrameOp,
): ResponseTransform {
  return onStream((ctx) => {
    // Never lets the terminator through, even if the stream is shorter than N.
    const strike = strikePoint(ctx.dialect, ctx.info, params);
    return {
      frame(frame, index) {
        const at = strike(frame, index);
        if (!at) return undefined;
        const op = then(index, ctx);
        return { ...op, emit: [...at.before, ...(op.emit ?? [])] };
      },
    };
  });
}

/** Half a JSON text: a body cut mid-value, which JSON.parse rejects. */
export function truncateJson(text: string, fraction: number): string {
  const cut = Math.max(1, Math.min(text.length - 1, Math.floor(text.length * fraction)));
  return text.slice(0, cut);
}
