/** HTTP error answers: each fault says what failed; the request's dialect words it as its provider does. */
import { PROVIDERS } from '../../../runtime/types.ts';
import { errorAction, htmlErrorResponse } from '../dialect.ts';
import { bool, type FaultDefinition, num, str } from '../fault.ts';
import { providersWhere } from '../providers/index.ts';

export const errorFaults: FaultDefinition[] = [
  {
    id: 'rate_limit',
    description:
      '429 with the provider body and its rate-limit headers: retry-after (s), retry-after-ms and ' +
      'x-ratelimit-*-{requests,tokens} for OpenAI; retry-after and anthropic-ratelimit-*-reset (RFC 3339) for Anthropic.',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {
      retryAfterMs: { type: 'number', default: 1000, min: 0, description: 'Delay the headers ask for.' },
      limitType: {
        type: 'string',
        default: 'requests',
        choices: ['requests', 'tokens'],
        description: 'Which limit was hit.',
      },
      retryAfterHeader: { type: 'boolean', default: true, description: 'Send retry-after (seconds).' },
      retryAfterMsHeader: {
        type: 'boolean',
        default: true,
        description: 'Send retry-after-ms (OpenAI only).',
      },
    },
    action(ctx, params) {
      const retryAfterMs = num(params, 'retryAfterMs');
      const answer = ctx.dialect.errors.rate_limit({
        model: ctx.info.model,
        retryAfterMs,
        limitType: str(params, 'limitType') === 'tokens' ? 'tokens' : 'requests',
        retryAfterMsHeader: bool(params, 'retryAfterMsHeader'),
        now: ctx.clock.now(),
      });
      if ('error' in answer && bool(params, 'retryAfterHeader'))
        answer.error.headers = {
          ...answer.error.headers,
          'retry-after': String(Math.ceil(retryAfterMs / 1000)),
        };
      return errorAction(ctx, answer);
    },
  },
  {
    id: 'quota_exhausted',
    description:
      'Permanent: OpenAI 429 insufficient_quota (the SDKs still retry it), Anthropic 402 billing_error.',
    category: 'http_error',
    providers: providersWhere((d) => d.errors.quota_exhausted !== undefined),
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.quota_exhausted!()),
  },
  {
    id: 'server_error',
    description: '500: OpenAI server_error, Anthropic api_error, Ollama {"error":…}.',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.server_error()),
  },
  {
    id: 'bad_gateway',
    description: '502 with an HTML page from the load balancer in front of the provider (not JSON).',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: () => ({ kind: 'respond', response: htmlErrorResponse(502, 'Bad Gateway') }),
  },
  {
    id: 'service_unavailable',
    description: '503: OpenAI/Anthropic JSON error body, Ollama "server busy" (its queue is full).',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.service_unavailable()),
  },
  {
    id: 'gateway_timeout',
    description: '504: Anthropic timeout_error JSON; OpenAI and Ollama an HTML page from the gateway.',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.gateway_timeout()),
  },
  {
    id: 'overloaded',
    description: 'Anthropic 529 overloaded_error; OpenAI 503 "Slow Down"; Ollama 503 server busy.',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.overloaded()),
  },
  {
    id: 'http_error',
    description:
      'Any status with the provider-shaped error body (Envoy "abort"): for cases the catalogue lacks.',
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {
      status: { type: 'number', default: 500, min: 400, max: 599, description: 'HTTP status.' },
      type: { type: 'string', default: 'api_error', description: 'Provider error type.' },
      message: { type: 'string', default: 'Injected error', description: 'Error message.' },
    },
    action: (ctx, params) =>
      errorAction(ctx, {
        status: num(params, 'status'),
        error: { type: str(params, 'type'), message: str(params, 'message') },
      }),
  },
  {
    id: 'unsupported_parameter',
    description:
      "400 with the provider's wording: OpenAI's max_tokens message, Anthropic's `x: Extra inputs are not permitted`, Ollama's `does not support tools`.",
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: {
      param: { type: 'string', default: '', description: 'The rejected parameter (default per provider).' },
    },
    action: (ctx, params) =>
      errorAction(ctx, ctx.dialect.errors.unsupported_parameter(str(params, 'param'), ctx.info.model)),
  },
  {
    id: 'context_length_exceeded',
    description:
      'The prompt does not fit: OpenAI 400 context_length_exceeded, Anthropic 400 "prompt is too long".',
    category: 'http_error',
    providers: providersWhere((d) => d.errors.context_length_exceeded !== undefined),
    stream: 'any',
    endpoints: 'generation',
    params: {
      limit: { type: 'number', default: 128000, min: 1, description: 'Context window in tokens.' },
      requested: { type: 'number', default: 130046, min: 1, description: 'Tokens the request had.' },
    },
    action: (ctx, params) =>
      errorAction(
        ctx,
        ctx.dialect.errors.context_length_exceeded!(num(params, 'limit'), num(params, 'requested')),
      ),
  },
  {
    id: 'invalid_api_key',
    description:
      "401 with the provider's exact body (OpenAI masks the key it saw; Anthropic `invalid x-api-key`).",
    category: 'http_error',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'any',
    params: {},
    action: (ctx) => errorAction(ctx, ctx.dialect.errors.invalid_api_key(ctx.info.headers)),
  },
];
