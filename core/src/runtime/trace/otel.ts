import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
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
const GEN_AI = {
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
export function emitSpans(
  tracer: Tracer,
  decision: DecisionTrace,
  extra: { finishReason?: string } = {},
): void {
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
  if (extra.finishReason) attributes[GEN_AI.finishReasons] = [extra.finishReason];
  root.setAttributes(attributes);

  const parent = trace.setSpan(context.active(), root);
  for (const attempt of decision.attempts) {
    const a: Attributes = {
      [GEN_AI.operation]: 'chat',
      [GEN_AI.provider]: attempt.provider === 'openai-compatible' ? 'openai' : attempt.provider,
      [GEN_AI.requestModel]: attempt.model,
      'switchyard.deployment': attempt.deployment,
      'switchyard.attempt': attempt.n,
      'switchyard.cost_usd': attempt.costUsd,
    };
    put(a, GEN_AI.inputTokens, attempt.usage?.inputTokens);
    put(a, GEN_AI.outputTokens, attempt.usage?.outputTokens);
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

/** Sets an attribute unless it is empty (undefined or an empty list), which OpenTelemetry would drop anyway. */
function put(out: Attributes, key: string, value: Attributes[string] | undefined): void {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return;
  out[key] = value;
}
