import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing, tracingRequested } from '../../src/gateway/index.ts';
import { eventually, startTestGateway, type TestGateway } from './helpers.ts';

/**
 * Traces through the OpenTelemetry Node SDK, configured only by the standard OTEL_* variables, to an
 * OTLP/HTTP receiver on loopback: the gateway's request span continues the caller's traceparent,
 * lives while the call runs (the router's spans and the upstream call nest inside it), and carries
 * the GenAI attributes, streamed and not.
 */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

const spans: OtlpSpan[] = [];
let receiver: Server;
let tracing: Tracing | undefined;
let t: TestGateway;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_SERVICE_NAME: 'gateway-under-test',
  });
  tracing = await startTracing(process.env);
  t = await startTestGateway();
});

afterAll(async () => {
  await t?.close();
  await tracing?.shutdown();
  receiver?.close();
});

/** An attribute's value, whatever its OTLP JSON type. */
function attr(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  if ('arrayValue' in value)
    return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(
      (v) => Object.values(v)[0],
    );
  const raw = Object.values(value)[0];
  return 'intValue' in value ? Number(raw) : raw;
}

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('OTLP traces', () => {
  it('is on only when an OTLP endpoint or exporter is named, and the SDK is not disabled', () => {
    expect(tracing).toBeDefined();
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(
      true,
    );
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE' }),
    ).toBe(false);
  });

  it.each([false, true])(
    'the request span continues traceparent and carries the GenAI attributes (stream: %s)',
    async (stream) => {
      const callerSpan = stream ? CALLER_SPAN.replace('00', '11') : CALLER_SPAN;
      const openai = new OpenAI({
        baseURL: `${t.url}/v1`,
        apiKey: 'unused',
        maxRetries: 0,
        defaultHeaders: { traceparent: `00-${CALLER_TRACE}-${callerSpan}-01` },
      });
      const before = t.upstream.length;
      let responseId: string | undefined;
      if (stream) {
        const final = await openai.chat.completions
          .stream({
            model: 'chat',
            messages: [{ role: 'user', content: 'Hi' }],
            max_tokens: 30,
            temperature: 0.3,
          })
          .finalChatCompletion();
        responseId = final.id;
      } else {
        const answer = await openai.chat.completions.create({
          model: 'chat',
          messages: [{ role: 'user', content: 'Hi' }],
          max_tokens: 30,
          temperature: 0.3,
        });
        responseId = answer.id;
      }
      const isRequestSpan = (s: OtlpSpan) =>
        s.name === 'POST /v1/chat/completions' && s.parentSpanId === callerSpan;
      await eventually(() => spans.some(isRequestSpan), 5_000);
      const server = spans.find(isRequestSpan)!;
      expect(server.traceId).toBe(CALLER_TRACE);
      expect(attr(server, 'gen_ai.operation.name')).toBe('chat');
      expect(attr(server, 'gen_ai.request.model')).toBe('chat');
      expect(attr(server, 'gen_ai.request.max_tokens')).toBe(30);
      expect(attr(server, 'gen_ai.request.temperature')).toBe(0.3);
      expect(attr(server, 'gen_ai.response.model')).toMatch(/^gpt-4\.1/);
      expect(attr(server, 'gen_ai.response.finish_reasons')).toEqual([
        expect.stringMatching(/^(stop|length)$/),
      ]);
      expect(attr(server, 'gen_ai.provider.name')).toBe('openai');
      expect(attr(server, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
      if (!stream) expect(attr(server, 'gen_ai.response.id')).toBe(responseId);
      else expect(attr(server, 'gen_ai.response.id')).toBeTruthy();

      // The router's spans nest inside it, and the attempt's upstream call carried its trace.
      await eventually(() => spans.some((s) => s.parentSpanId === server.spanId), 5_000);
      const routed = spans.find((s) => s.parentSpanId === server.spanId)!;
      expect(routed.name).toBe('chat chat');
      await eventually(() => spans.some((s) => s.parentSpanId === routed.spanId), 5_000);
      const attempt = spans.find((s) => s.parentSpanId === routed.spanId)!;
      expect(attempt.name).toBe('chat gpt-4.1');
      expect(BigInt(server.startTimeUnixNano) <= BigInt(attempt.startTimeUnixNano)).toBe(true);
      expect(BigInt(server.endTimeUnixNano) >= BigInt(attempt.endTimeUnixNano)).toBe(true);
      const upstream = t.upstream.slice(before);
      expect(upstream[0]!.headers.get('traceparent')).toMatch(
        new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`),
      );
      // Nothing of the prompt or a key in any span.
      expect(JSON.stringify(spans)).not.toContain('sk-test-not-a-real-key');
    },
  );
});
