import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { ChatRequest, ChatResponse, Usage } from '../types.ts';
import type { DecisionTrace } from './trace.ts';

/**
 * OpenTelemetry spans for a finished decision trace, following the GenAI semantic conventions.
 * The gen_ai.* names are defined here rather than imported: the semconv package ships them only in
 * its "incubating" entry point, which it asks libraries not to depend on.
 *
 * One span per request (`chat <route>`) and one child CLIENT span per attempt (`chat <model>`),
 * started and ended at the clock's times, so virtual-clock runs produce coherent timelines.
 * Spans carry no prompt text and no keys.
 */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  maxTokens: 'gen_ai.request.max_tokens',
  temperature: 'gen_ai.request.temperature',
} as const;

const ERROR_TYPE = 'error.type';

/** What the request asked for and what answered it, for the GenAI attributes a trace does not hold. */
export interface GenAiDetails {
  request?: Pick<ChatRequest, 'maxOutputTokens' | 'temperature'>;
  response?: Pick<ChatResponse, 'id' | 'model' | 'finishReason'>;
}

/**
 * The GenAI attributes of a request and its answer: `gen_ai.request.max_tokens`,
 * `gen_ai.request.temperature`, `gen_ai.response.model`, `gen_ai.response.id`,
 * `gen_ai.response.finish_reasons`. Empty values are left out. Used by the request span of
 * emitSpans and by any span that lives while a request runs (the gateway's).
 */
export function genAiAttributes(details: GenAiDetails, out: Attributes = {}): Attributes {
  put(out, GEN_AI.maxTokens, details.request?.maxOutputTokens);
  put(out, GEN_AI.temperature, details.request?.temperature);
  const response = details.response;
  if (response) {
    put(out, GEN_AI.responseModel, response.model);
    put(out, GEN_AI.responseId, response.id);
    out[GEN_AI.finishReasons] = [response.finishReason];
  }
  return out;
}

/** Token usage as GenAI attributes. */
export function genAiUsage(usage: Usage | undefined, out: Attributes): Attributes {
  put(out, GEN_AI.inputTokens, usage?.inputTokens);
  put(out, GEN_AI.outputTokens, usage?.outputTokens);
  return out;
}

export function defaultTracer(): Tracer {
  return trace.getTracer('@switchyard/core');
}

/**
 * Emits the spans of one request. Cheap when no OpenTelemetry SDK is registered: the no-op tracer's
 * root span is not recording, and then no attributes are built and no attempt spans started (a
 * sampler that drops the request span drops its attempts too, as the SDK's default ParentBased does).
 * Attributes are written one by one, skipping empty values, rather than built as a literal and then
 * filtered: ~8 µs less per request with a real SDK (measured with bench/benches/overhead.ts).
 */
export function emitSpans(tracer: Tracer, decision: DecisionTrace, details: GenAiDetails = {}): void {
  const root = tracer.startSpan(`chat ${decision.route}`, {
    kind: SpanKind.INTERNAL,
    startTime: decision.startedAt,
  });
  if (!root.isRecording()) {
    root.end(decision.endedAt ?? decision.startedAt);
    return;
  }
  const attributes: Attributes = {
    [GEN_AI.operation]: 'chat',
    [GEN_AI.requestModel]: decision.route,
    'switchyard.trace_id': decision.id,
    'switchyard.route': decision.route,
    'switchyard.stream': decision.stream,
    'switchyard.cache': decision.cache,
    'switchyard.attempts': decision.attempts.length,
    'switchyard.cost_usd': decision.costUsd,
    'switchyard.wasted_usd': decision.wastedUsd,
    'switchyard.retry_budget_denied': decision.retryBudgetDenied,
  };
  put(attributes, 'switchyard.tenant', decision.tenant);
  put(attributes, 'switchyard.final_deployment', decision.finalDeployment);
  const skipped: string[] = [];
  for (const c of decision.candidates) if (c.skipped) skipped.push(`${c.deployment}:${c.skipped}`);
  put(attributes, 'switchyard.skipped', skipped);
  genAiAttributes(details, attributes);
  root.setAttributes(attributes);

  const parent = trace.setSpan(context.active(), root);
  for (const attempt of decision.attempts) {
    const a: Attributes = {
      [GEN_AI.operation]: 'chat',
      [GEN_AI.provider]: genAiProvider(attempt.provider),
      [GEN_AI.requestModel]: attempt.model,
      'switchyard.deployment': attempt.deployment,
      'switchyard.attempt': attempt.n,
      'switchyard.cost_usd': attempt.costUsd,
    };
    genAiUsage(attempt.usage, a);
    put(a, ERROR_TYPE, attempt.errorKind);
    put(a, 'switchyard.hedge', attempt.hedge);
    put(a, 'switchyard.probe', attempt.probe);
    put(a, 'switchyard.next', attempt.next);
    put(a, 'switchyard.delay_before_next_ms', attempt.delayBeforeNextMs);
    put(a, 'http.response.status_code', attempt.status);
    const span: Span = tracer.startSpan(
      `chat ${attempt.model}`,
      { kind: SpanKind.CLIENT, startTime: attempt.startedAt, attributes: a },
      parent,
    );
    if (attempt.outcome !== 'success')
      span.setStatus({ code: SpanStatusCode.ERROR, message: attempt.errorKind ?? attempt.outcome });
    span.end(attempt.endedAt);
  }
  if (decision.outcome === 'error') {
    root.setAttribute(ERROR_TYPE, String(decision.error?.kind ?? 'error'));
    root.setStatus({ code: SpanStatusCode.ERROR, message: String(decision.error?.message ?? '') });
  }
  root.end(decision.endedAt ?? decision.startedAt);
}

/** `gen_ai.provider.name`: an OpenAI-compatible server speaks OpenAI's API. */
export function genAiProvider(provider: string): string {
  return provider === 'openai-compatible' ? 'openai' : provider;
}

/** Sets an attribute unless it is empty (undefined or an empty list), which OpenTelemetry would drop anyway. */
function put(out: Attributes, key: string, value: Attributes[string] | undefined): void {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return;
  out[key] = value;
}
