import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { GEN_AI, genAiAttributes, genAiProvider, genAiUsage } from '../runtime/trace/otel.ts';
import type { ChatRequest, ChatResponse } from '../runtime/types.ts';

/**
 * Traces: the OpenTelemetry Node SDK, configured by the standard OTEL_* environment variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER…),
 * and the gateway's request span, which lives while the request runs: the router's spans and any
 * instrumentation of the upstream calls nest inside it, and an incoming `traceparent` is its parent.
 */

export interface Tracing {
  shutdown(): Promise<void>;
}

/** Tracing is on when an OTLP endpoint or a traces exporter is named, and the SDK is not disabled. */
export function tracingRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER,
  );
}

/**
 * Starts the Node SDK for traces only (loaded on demand: it is large, and most runs do not trace).
 * Metrics go to Prometheus (/metrics) and logs to stdout, so the SDK gets no metric reader and no
 * log processor, whatever OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER say.
 */
export async function startTracing(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'switchyard-gateway' }),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** The request span, child of the caller's `traceparent` when it sent one. */
export function startRequestSpan(
  tracer: Tracer,
  name: string,
  headers: Record<string, string | string[] | undefined>,
  attributes: Attributes,
): { span: Span; context: Context } {
  const parent = propagation.extract(context.active(), headers);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends the request span with the GenAI attributes of what was asked and what answered. */
export function endRequestSpan(
  span: Span,
  request: ChatRequest | undefined,
  response: ChatResponse | undefined,
  status: number,
  errorKind: string | undefined,
): void {
  if (span.isRecording()) {
    const attributes: Attributes = { 'http.response.status_code': status };
    if (request) {
      attributes[GEN_AI.operation] = 'chat';
      if (request.model) attributes[GEN_AI.requestModel] = request.model;
    }
    genAiAttributes({ ...(request ? { request } : {}), ...(response ? { response } : {}) }, attributes);
    if (response) {
      attributes[GEN_AI.provider] = genAiProvider(response.provider);
      attributes['switchyard.deployment'] = response.deployment;
      genAiUsage(response.usage, attributes);
    }
    if (errorKind) {
      attributes['error.type'] = errorKind;
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorKind });
    }
    span.setAttributes(attributes);
  }
  span.end();
}

/** Writes the active trace context (traceparent) into outgoing headers. */
export function injectTraceContext(headers: Headers): void {
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}
