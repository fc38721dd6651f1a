/**
 * What a fault is: its id, parameters and the action it takes on one request. A fault is written
 * once, for every provider: what differs per provider (its wording, headers, finish reasons, stream
 * frames) is asked of the request's dialect (`ctx.dialect`, one file per provider in providers/).
 */
import type { Clock } from '../../runtime/clock.ts';
import type { Provider } from '../../runtime/types.ts';
import type { ProviderDialect } from './dialect.ts';
import type { RequestInfo } from './wire.ts';

export const FAULT_IDS = [
  'rate_limit',
  'quota_exhausted',
  'server_error',
  'bad_gateway',
  'service_unavailable',
  'gateway_timeout',
  'overloaded',
  'http_error',
  'connection_refused',
  'connection_reset',
  'half_close',
  'no_response',
  'latency',
  'slow_first_token',
  'stall_after_headers',
  'byte_by_byte',
  'slow_close',
  'stream_cut',
  'stream_error_event',
  'malformed_json',
  'empty_body',
  'malformed_sse',
  'malformed_ndjson',
  'unsupported_parameter',
  'context_length_exceeded',
  'invalid_api_key',
  'content_filter',
  'empty_content',
  'truncated_answer',
  'invalid_json_in_json_mode',
] as const;

export type FaultId = (typeof FAULT_IDS)[number];

export type ParamValue = number | string | boolean;
export type FaultParams = Record<string, ParamValue>;

export interface ParamSpec {
  type: 'number' | 'string' | 'boolean';
  default: ParamValue;
  description: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

/** Transport failures: on a socket (chaos proxy) they are real; in fetch-land they become fetch errors. */
export type TransportFault = 'connection_reset' | 'connection_refused' | 'half_close' | 'no_response';

export interface FaultContext {
  info: RequestInfo & { provider: Provider };
  /** How the request's provider speaks: its error wording, headers, finish reasons and frames. */
  dialect: ProviderDialect;
  clock: Clock;
  signal: AbortSignal | undefined;
  /** A deterministic, provider-shaped request id (req_… ). */
  requestId(): string;
}

export type ResponseTransform = (response: Response, ctx: FaultContext) => Response | Promise<Response>;

export type FaultAction =
  /** Answer without calling upstream, optionally after a delay. */
  | { kind: 'respond'; response: Response; delayMs?: number }
  | { kind: 'transport'; transport: TransportFault }
  /** Call upstream (after an optional delay) and optionally rewrite its response. */
  | { kind: 'upstream'; delayMs?: number; transform?: ResponseTransform };

export interface FaultDefinition {
  id: FaultId;
  description: string;
  category: 'http_error' | 'transport' | 'latency' | 'stream' | 'malformed' | 'content';
  /** The providers it can hit: those whose dialect can say it. */
  providers: readonly Provider[];
  /** Which calls it can hit. */
  stream: 'any' | 'stream' | 'non-stream';
  /** 'generation' = chat/messages/generate only; 'any' also hits /v1/models, /api/tags, … */
  endpoints: 'any' | 'generation';
  /** Only meaningful when JSON mode was asked (a dialect with JSON by instruction always qualifies). */
  requiresJsonMode?: boolean;
  params: Record<string, ParamSpec>;
  /** Parameters of which at most one may be given (e.g. where a stream fault strikes). */
  exclusiveParams?: readonly string[];
  action(ctx: FaultContext, params: FaultParams): FaultAction;
}

export const num = (params: FaultParams, name: string): number => Number(params[name]);
export const str = (params: FaultParams, name: string): string => String(params[name]);
export const bool = (params: FaultParams, name: string): boolean => params[name] === true;
