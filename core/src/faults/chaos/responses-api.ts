/**
 * What the content and stream faults need to know about OpenAI's Responses API (`/v1/responses`):
 * where its text lives in a Response object and in its SSE events, how a cut or filtered answer is
 * reported there (status `incomplete` with a reason, not a finish_reason), and its error event.
 */
import type { FrameOp } from './streams.ts';
import { sseData, sseFrame } from './streams.ts';
import { isRecord, type RequestInfo } from './wire.ts';

export const RESPONSES_PATH = '/v1/responses';

export function isResponsesApi(info: Pick<RequestInfo, 'provider' | 'endpoint'>): boolean {
  return info.provider === 'openai' && info.endpoint === RESPONSES_PATH;
}

/** The Responses API's incomplete reason for a chat finish_reason a fault reports. */
const INCOMPLETE_REASON: Record<string, string> = {
  length: 'max_output_tokens',
  content_filter: 'content_filter',
};

/** Marks a Response object incomplete for the chat-style finish a fault reports (when it is one). */
function markIncomplete(response: Record<string, unknown>, finish: string | undefined): boolean {
  const reason = finish ? INCOMPLETE_REASON[finish] : undefined;
  if (!reason) return false;
  response.status = 'incomplete';
  response.completed_at = null;
  response.incomplete_details = { reason };
  return true;
}

/** Every output_text part of a Response's message items. */
function textParts(response: Record<string, unknown>): Array<Record<string, unknown>> {
  const output = Array.isArray(response.output) ? response.output : [];
  return output
    .filter((item): item is Record<string, unknown> => isRecord(item) && item.type === 'message')
    .flatMap((item) => (Array.isArray(item.content) ? item.content : []))
    .filter((part): part is Record<string, unknown> => isRecord(part) && part.type === 'output_text');
}

/** Rewrites the text of a non-streamed Response in place; true when `json` was one. */
export function editResponseBody(
  json: unknown,
  edit: (text: string) => string,
  finish: string | undefined,
): boolean {
  if (!isRecord(json) || json.object !== 'response') return false;
  for (const part of textParts(json)) {
    if (typeof part.text === 'string') part.text = edit(part.text);
  }
  markIncomplete(json, finish);
  return true;
}

/**
 * A frame editor for one Responses stream: deltas go through `edit`; the `.done` events and the
 * final response repeat the whole text, so they get the edited text accumulated so far; the final
 * event becomes `response.incomplete` when the fault reports a cut or filtered answer.
 */
export function responsesFrameEditor(
  edit: (text: string) => string,
  finish: string | undefined,
): (frame: string) => FrameOp | undefined {
  let text = '';
  // Dropped deltas leave no gap: the events that remain are numbered again from 0.
  let sequence = 0;
  const emit = (data: Record<string, unknown>, event: string | undefined): FrameOp => ({
    emit: [sseFrame({ ...data, sequence_number: sequence++ }, event)],
  });
  return (frame) => {
    const parsed = sseData(frame);
    if (!parsed || !isRecord(parsed.data)) return undefined;
    const data = parsed.data;
    switch (data.type) {
      case 'response.output_text.delta': {
        const delta = typeof data.delta === 'string' ? edit(data.delta) : '';
        if (delta === '') return { emit: [] };
        text += delta;
        return emit({ ...data, delta }, parsed.event);
      }
      case 'response.output_text.done':
        return emit({ ...data, text }, parsed.event);
      case 'response.content_part.done':
        if (isRecord(data.part)) data.part.text = text;
        return emit(data, parsed.event);
      case 'response.output_item.done':
        if (isRecord(data.item)) for (const part of textParts({ output: [data.item] })) part.text = text;
        return emit(data, parsed.event);
      case 'response.completed': {
        if (!isRecord(data.response)) return emit(data, parsed.event);
        for (const part of textParts(data.response)) part.text = text;
        const type = markIncomplete(data.response, finish) ? 'response.incomplete' : 'response.completed';
        return emit({ ...data, type }, type);
      }
      default:
        return emit(data, parsed.event);
    }
  };
}

/** The Responses API's error event (`event: error`), numbered as the event it replaces. */
export function responsesErrorEvent(message: string, sequenceNumber: number): string {
  return sseFrame(
    { type: 'error', code: 'server_error', message, param: null, sequence_number: sequenceNumber },
    'error',
  );
}
