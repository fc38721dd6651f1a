import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { Router } from '../../src/runtime/router.ts';
import { emitSpans } from '../../src/runtime/trace/otel.ts';
import { createStandIn, drive, serverError } from './stand-in.ts';

const clock = new VirtualClock();
const standIn = createStandIn(clock);
const KEY = 'sk-test-CANARY-otel-0000';

it('emits one request span and one GenAI client span per attempt, on the clock, without keys', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const router = new Router({
    config: {
      deployments: [
        {
          id: 'a',
          provider: 'openai',
          model: 'gpt-4.1',
          baseURL: 'http://127.0.0.1:4201/v1',
          apiKey: { env: 'K' },
        },
        {
          id: 'b',
          provider: 'openai',
          model: 'gpt-4.1-mini',
          baseURL: 'http://127.0.0.1:4202/v1',
          apiKey: { env: 'K' },
        },
      ],
      routes: [{ name: 'chat', deployments: ['a'], fallbacks: ['b'] }],
      policies: { retry: { maxAttempts: 1 } },
    },
    clock,
    fetch: standIn.fetch,
    env: { K: KEY },
    tracer: provider.getTracer('test'),
  });
  standIn.script('127.0.0.1:4201', serverError());
  const started = clock.now();
  await drive(clock, router.complete({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));

  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === 'chat chat')!;
  const attempts = spans.filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId);
  expect(attempts.map((s) => s.name)).toEqual(['chat gpt-4.1', 'chat gpt-4.1-mini']);
  expect(attempts[0]!.attributes).toMatchObject({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4.1',
    'error.type': 'server_error',
    'http.response.status_code': 500,
  });
  expect(attempts[1]!.attributes).toMatchObject({
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 5,
  });
  expect(root.attributes['switchyard.final_deployment']).toBe('b');
  // Span times come from the injected clock, not the wall clock.
  expect(root.startTime[0] * 1000 + root.startTime[1] / 1e6).toBe(started);
  expect(JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events })))).not.toContain(KEY);
});

it('fills the GenAI request and response attributes of the request span when given them', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const decision = {
    id: 'r1',
    route: 'chat',
    stream: false,
    tags: [],
    startedAt: 1_000,
    endedAt: 2_000,
    estimatedInputTokens: 3,
    cache: 'off' as const,
    candidates: [],
    attempts: [],
    hedges: [],
    retryBudgetDenied: 0,
    outcome: 'success' as const,
    costUsd: 0,
    wastedUsd: 0,
  };
  emitSpans(provider.getTracer('test'), decision, {
    request: { maxOutputTokens: 64, temperature: 0.2 },
    response: { id: 'chatcmpl-1', model: 'gpt-4.1-2025-04-14', finishReason: 'length' },
  });
  emitSpans(provider.getTracer('test'), decision);
  const [given, bare] = exporter.getFinishedSpans();
  expect(given!.attributes).toMatchObject({
    'gen_ai.request.max_tokens': 64,
    'gen_ai.request.temperature': 0.2,
    'gen_ai.response.id': 'chatcmpl-1',
    'gen_ai.response.model': 'gpt-4.1-2025-04-14',
    'gen_ai.response.finish_reasons': ['length'],
  });
  expect(Object.keys(bare!.attributes).filter((k) => k.startsWith('gen_ai.response'))).toEqual([]);
});
