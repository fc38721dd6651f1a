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

/** Emits the spans of one request. Cheap when no OpenTelemetry SDK is registered (no-op tracer). */
export function emitSpans(
  tracer: Tracer,
  decision: DecisionTrace,
  extra: { finishReason?: string } = {},
): void {
  const root = tracer.startSpan(`chat ${decision.route}`, {
    kind: SpanKind.INTERNAL,
    startTime: decision.startedAt,
    attributes: compact({
      [GEN_AI.operation]: 'chat',
      [GEN_AI.requestModel]: decision.route,
      'switchyard.trace_id': decision.id,
      'switchyard.route': decision.route,
      'switchyard.stream': decision.stream,
      'switchyard.tenant': decision.tenant,
      'switchyard.cache': decision.cache,
      'switchyard.attempts': decision.attempts.length,
      'switchyard.final_deployment': decision.finalDeployment,
      'switchyard.cost_usd': decision.costUsd,
      'switchyard.wasted_usd': decision.wastedUsd,
      'switchyard.retry_budget_denied': decision.retryBudgetDenied,
      'switchyard.skipped': decision.candidates
        .filter((c) => c.skipped)
        .map((c) => `${c.deployment}:${c.skipped}`),
      [GEN_AI.finishReasons]: extra.finishReason ? [extra.finishReason] : undefined,
    }),
  });
  const parent = trace.setSpan(context.active(), root);
  for (const attempt of decision.attempts) {
    const span: Span = tracer.startSpan(
      `chat ${attempt.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: attempt.startedAt,
        attributes: compact({
          [GEN_AI.operation]: 'chat',
          [GEN_AI.provider]: attempt.provider === 'openai-compatible' ? 'openai' : attempt.provider,
          [GEN_AI.requestModel]: attempt.model,
          [GEN_AI.inputTokens]: attempt.usage?.inputTokens,
          [GEN_AI.outputTokens]: attempt.usage?.outputTokens,
          [ERROR_TYPE]: attempt.errorKind,
          'switchyard.deployment': attempt.deployment,
          'switchyard.attempt': attempt.n,
          'switchyard.hedge': attempt.hedge,
          'switchyard.probe': attempt.probe,
          'switchyard.cost_usd': attempt.costUsd,
          'switchyard.next': attempt.next,
          'switchyard.delay_before_next_ms': attempt.delayBeforeNextMs,
          'http.response.status_code': attempt.status,
        }),
      },
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

function compact(attributes: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value as Attributes[string];
  }
  return out;
}
