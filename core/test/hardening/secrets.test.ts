/**
 * Secrets canary: plant fake keys in the router's env and in process.env, drive every output
 * Switchyard has (console, decision traces, OpenTelemetry spans, thrown errors and their whole cause
 * chain, a scenario journal and its reports, recorded cassettes — compressed upstream bodies too —,
 * config errors, the CLI's output and files) and assert that no key — nor its last 8 characters —
 * shows up anywhere, and that no key goes where it was not configured: not to a deployment that
 * names none (the SDKs' own environment fallback), not from a literal in a config's headers or URL.
 * Not vacuous: each part also proves the keys reached the provider side (the authorization /
 * x-api-key headers the simulated providers or a loopback listener received).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  chaosFetch,
  createChaos,
  createSimulator,
  type FaultRule,
  record,
  startChaosProxy,
  ZERO_LATENCY,
} from '../../src/faults/index.ts';
import { writeReports } from '../../src/reports/index.ts';
import { RealClock, VirtualClock } from '../../src/runtime/clock.ts';
import { ConfigError } from '../../src/runtime/config/errors.ts';
import { loadRouterConfig } from '../../src/runtime/config/load.ts';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { isSwitchyardError } from '../../src/runtime/errors.ts';
import { createAdapter } from '../../src/runtime/providers/index.ts';
import { Router } from '../../src/runtime/router.ts';
import type { DecisionTrace } from '../../src/runtime/trace/trace.ts';
import type { ChatRequest } from '../../src/runtime/types.ts';
import { defineScenario, runScenario } from '../../src/scenarios/index.ts';
import { drive } from '../router/stand-in.ts';

const OPENAI_CANARY = 'sk-test-CANARY-9f1c4e2a7b3d5c8e61f0';
const ANTHROPIC_CANARY = 'sk-ant-test-CANARY-9f1c0d4b8e2a6c3f57e9';
const CANARIES = [OPENAI_CANARY, ANTHROPIC_CANARY];
/** What must never appear: each key, its last 8 characters, and the planted marker. */
const NEEDLES = [...CANARIES, ...CANARIES.map((c) => c.slice(-8)), 'CANARY'];

function expectClean(label: string, text: string): void {
  for (const needle of NEEDLES) {
    const at = text.indexOf(needle);
    expect(at, `${label} contains "${needle}": …${text.slice(Math.max(0, at - 80), at + 80)}…`).toBe(-1);
  }
}

/** The keys the provider side received, by header. */
function keySeen(headers: Headers): string[] {
  const out: string[] = [];
  const auth = headers.get('authorization');
  if (auth) out.push(auth.replace(/^Bearer\s+/i, ''));
  const apiKey = headers.get('x-api-key');
  if (apiKey) out.push(apiKey);
  return out;
}

// -------------------------------------------------------------------------------------------------
// Capture: console and the process's own stdout/stderr writes.

let captured: string[] = [];
const savedEnv: Record<string, string | undefined> = {};

beforeAll(() => {
  for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) savedEnv[name] = process.env[name];
  process.env.OPENAI_API_KEY = OPENAI_CANARY;
  process.env.ANTHROPIC_API_KEY = ANTHROPIC_CANARY;
});
afterAll(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
beforeEach(() => {
  captured = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 8 }))).join(' '));
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return original(chunk as string, ...rest);
    }) as typeof stream.write);
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readTree(root: string): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, text: await readFile(path, 'utf8') });
  }
  return out;
}

// -------------------------------------------------------------------------------------------------

const ORIGIN = 'http://sim.test';

function routerConfig(baseURL: string): RouterConfigInput {
  return {
    deployments: [
      {
        id: 'openai',
        provider: 'openai',
        model: 'gpt-4.1',
        baseURL: `${baseURL}/v1`,
        apiKey: { env: 'OPENAI_API_KEY' },
      },
      // The auth-fault targets: their own models, so the rules below can single them out.
      {
        id: 'openai-revoked',
        provider: 'openai',
        model: 'gpt-4o',
        baseURL: `${baseURL}/v1`,
        apiKey: { env: 'OPENAI_API_KEY' },
      },
      {
        id: 'anthropic',
        provider: 'anthropic',
        model: 'claude-sonnet-4-6',
        baseURL,
        apiKey: { env: 'ANTHROPIC_API_KEY' },
      },
      {
        id: 'anthropic-revoked',
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        baseURL,
        apiKey: { env: 'ANTHROPIC_API_KEY' },
      },
    ],
    routes: [
      { name: 'chat', deployments: ['openai'], fallbacks: ['anthropic'] },
      { name: 'claude', deployments: ['anthropic'] },
      { name: 'revoked-openai', deployments: ['openai-revoked'] },
      { name: 'revoked-anthropic', deployments: ['anthropic-revoked'] },
      { name: 'revoked-both', deployments: ['openai-revoked'], fallbacks: ['anthropic-revoked'] },
    ],
    policies: {
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      timeouts: { headersMs: 3_000, firstTokenMs: 3_000, idleMs: 3_000, attemptMs: 8_000, totalMs: 20_000 },
      hedge: { enabled: true, delay: 100 },
    },
    budgets: [{ tenant: '*', period: 'day', limitUsd: 1 }],
    cache: { enabled: true },
  };
}

const FAULT_RULES: FaultRule[] = [
  { id: 'revoked-openai', fault: 'invalid_api_key', target: { model: 'gpt-4o' } },
  { id: 'revoked-anthropic', fault: 'invalid_api_key', target: { model: 'claude-haiku-4-5' } },
  { id: 'flaky', fault: 'server_error', target: { model: 'gpt-4.1' }, injection: { everyNth: 3 } },
  { id: 'cut', fault: 'stream_cut', target: { model: 'gpt-4.1', stream: true }, injection: { everyNth: 2 } },
];

/** The same rules in the scenario file format. */
const SCENARIO_FAULTS = FAULT_RULES.map(({ id, fault, target, injection }) => ({
  id,
  fault,
  ...(target ? { target } : {}),
  ...(injection?.everyNth ? { everyNth: injection.everyNth } : {}),
}));

const ask = (model: string, n: number): ChatRequest => ({
  model,
  tenant: 'acme',
  maxOutputTokens: 40,
  messages: [{ role: 'user', content: `Secrets canary request ${n}.` }],
});

/**
 * A third-party host on loopback: records every request's headers and answers 401 the way OpenAI
 * does (echoing the key it saw, masked), so a leaked key would also come back in an error.
 */
async function thirdPartyListener(options: { gzip?: boolean } = {}) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    const key = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '').replace(/^Bearer /, '');
    if (options.gzip) {
      // A compressing upstream whose answer echoes the key (as a debugging proxy might).
      const body = {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4.1',
        choices: [
          { index: 0, message: { role: 'assistant', content: `you sent ${key}` }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
      };
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify(body)));
      return;
    }
    res.writeHead(401, { 'content-type': 'application/json', 'x-echo-key': key });
    res.end(
      JSON.stringify({
        error: {
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          message: `Incorrect API key provided: ${key}`,
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A router with one OpenAI deployment `openai` at `origin`, its key from process.env[keyEnv]. */
function openaiRouter(origin: string, keyEnv: string): Router {
  return new Router({
    config: {
      deployments: [
        {
          id: 'openai',
          provider: 'openai',
          model: 'gpt-4.1',
          baseURL: `${origin}/v1`,
          apiKey: { env: keyEnv },
        },
      ],
    },
  });
}

/** One non-streamed and one streamed call to each model; the errors they ended with. */
async function completeAndStream(router: Router, models: readonly string[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const model of models) {
    await router.complete(ask(model, 1)).catch((error: unknown) => errors.push(error));
    for await (const event of router.stream(ask(model, 2))) {
      if (event.type === 'error') errors.push(event.error);
    }
  }
  return errors;
}

describe('secrets canary: the SDKs never fall back to the environment', () => {
  it('a deployment with no key sends a placeholder to its host, never OPENAI_API_KEY / ANTHROPIC_API_KEY', async () => {
    const listener = await thirdPartyListener();
    const errors: unknown[] = [];
    try {
      // The user's default keys are in process.env (beforeAll); these deployments name none.
      const router = new Router({
        config: {
          deployments: [
            { id: 'openai', provider: 'openai', model: 'gpt-4.1', baseURL: `${listener.url}/v1` },
            {
              id: 'compatible',
              provider: 'openai-compatible',
              model: 'local',
              baseURL: `${listener.url}/v1`,
            },
            { id: 'anthropic', provider: 'anthropic', model: 'claude-sonnet-4-6', baseURL: listener.url },
          ],
          policies: { retry: { maxAttempts: 1 } },
        },
      });
      errors.push(...(await completeAndStream(router, ['openai', 'compatible', 'anthropic'])));
    } finally {
      await listener.close();
    }
    // Not vacuous: six calls reached the third party, each failed on its 401.
    expect(listener.seen).toHaveLength(6);
    expect(errors.filter((e) => isSwitchyardError(e) && e.kind === 'auth')).toHaveLength(6);
    expectClean('headers sent to the third party', JSON.stringify(listener.seen));
    for (const headers of listener.seen) {
      const credential = String(headers.authorization ?? headers['x-api-key']);
      expect(credential).toMatch(/switchyard-no-key-configured/);
    }
  });

  it('OPENAI_BASE_URL and ANTHROPIC_BASE_URL in the environment do not move a deployment', () => {
    const saved = { openai: process.env.OPENAI_BASE_URL, anthropic: process.env.ANTHROPIC_BASE_URL };
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:9/v1';
    process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:9';
    try {
      const openai = createAdapter(
        { id: 'o', provider: 'openai', model: 'gpt-4.1', weight: 1, tags: [] },
        {},
      );
      const anthropic = createAdapter(
        { id: 'a', provider: 'anthropic', model: 'claude-sonnet-4-6', weight: 1, tags: [] },
        {},
      );
      expect((openai as unknown as { client: { baseURL: string } }).client.baseURL).toBe(
        'https://api.openai.com/v1',
      );
      expect((anthropic as unknown as { client: { baseURL: string } }).client.baseURL).toBe(
        'https://api.anthropic.com',
      );
    } finally {
      for (const [name, value] of [
        ['OPENAI_BASE_URL', saved.openai],
        ['ANTHROPIC_BASE_URL', saved.anthropic],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('a named key variable that is unset is a config error naming it, and nothing is sent', async () => {
    const listener = await thirdPartyListener();
    let error: unknown;
    try {
      const router = openaiRouter(listener.url, 'SWITCHYARD_CANARY_UNSET_KEY');
      await router.complete(ask('openai', 1));
    } catch (caught) {
      error = caught;
    } finally {
      await listener.close();
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toContain('SWITCHYARD_CANARY_UNSET_KEY');
    expect(listener.seen).toHaveLength(0);
  });
});

describe('secrets canary: keys written in a config', () => {
  it('a literal key in headers or in a baseURL is refused, and the refusal never shows it', async () => {
    const file = join(dir, 'literal-keys.yaml');
    await writeFile(
      file,
      [
        'deployments:',
        '  - id: openai',
        '    provider: openai',
        '    model: gpt-4.1',
        '    headers:',
        `      Authorization: Bearer ${OPENAI_CANARY}`,
        '  - id: gateway',
        '    provider: openai-compatible',
        '    model: local',
        `    baseURL: https://user:${ANTHROPIC_CANARY}@gateway.example/v1`,
        '  - id: azure',
        '    provider: openai-compatible',
        '    model: gpt-4.1',
        '    headers:',
        `      api-key: ${OPENAI_CANARY.slice(3)}`,
        '',
      ].join('\n'),
    );
    const error = await loadRouterConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => `${i.line} ${i.field}`)).toEqual([
      '6 deployments[0].headers.Authorization',
      '10 deployments[1].baseURL',
      '15 deployments[2].headers["api-key"]',
    ]);
    expectClean('config error', inspect(error, { depth: Number.POSITIVE_INFINITY }));
    // What a user sees: `switchyard validate` on the file.
    const result = await runCli(['validate', file], { ...process.env, NO_COLOR: '1' });
    expect(result.code).toBe(2);
    expect(result.output).toContain(`${file}:6:22 deployments[0].headers.Authorization`);
    expectClean('validate output', result.output);
  }, 30_000);
});

describe('secrets canary: compressed cassettes', () => {
  it('a gzip answer echoing the key is decoded before redaction: no key, even inflated', async () => {
    const listener = await thirdPartyListener({ gzip: true });
    const outFile = join(dir, 'gzip-cassette.json');
    let answer = '';
    try {
      const recording = await record({ outFile, secrets: [OPENAI_CANARY] });
      try {
        const router = openaiRouter(listener.url, 'OPENAI_API_KEY');
        answer = (await router.complete(ask('openai', 1))).text;
      } finally {
        await recording.stop({ minInteractions: 1 });
      }
    } finally {
      await listener.close();
    }
    // Not vacuous: the key went out and came back inside the compressed body.
    expect(answer).toContain(OPENAI_CANARY);
    const text = await readFile(outFile, 'utf8');
    expectClean('cassette', text);
    for (const hex of text.match(/"[0-9a-f]{16,}"/g) ?? []) {
      const bytes = Buffer.from(hex.slice(1, -1), 'hex');
      for (const decode of [gunzipSync, inflateSync, brotliDecompressSync]) {
        let inflated = '';
        try {
          inflated = decode(bytes).toString('utf8');
        } catch {
          // not this encoding
        }
        expectClean('inflated cassette body', inflated);
      }
    }
  });
});

describe('secrets canary: errors', () => {
  it("an error's cause chain carries neither the key nor the response headers that echo it", async () => {
    const listener = await thirdPartyListener();
    const errors: unknown[] = [];
    try {
      const key = { env: 'CANARY_KEY' };
      const router = new Router({
        config: {
          deployments: [
            {
              id: 'openai',
              provider: 'openai',
              model: 'gpt-4.1',
              baseURL: `${listener.url}/v1`,
              apiKey: key,
            },
            {
              id: 'anthropic',
              provider: 'anthropic',
              model: 'claude-sonnet-4-6',
              baseURL: listener.url,
              apiKey: key,
            },
            { id: 'ollama', provider: 'ollama', model: 'llama3.2', baseURL: listener.url, apiKey: key },
          ],
          policies: { retry: { maxAttempts: 1 } },
        },
        env: { CANARY_KEY: OPENAI_CANARY },
      });
      errors.push(...(await completeAndStream(router, ['openai', 'anthropic', 'ollama'])));
    } finally {
      await listener.close();
    }
    // Not vacuous: the key reached the listener, which echoed it in a header and in the 401 body.
    expect(listener.seen).toHaveLength(6);
    expect(JSON.stringify(listener.seen)).toContain(OPENAI_CANARY);
    expect(errors).toHaveLength(6);
    for (const error of errors) {
      expect(isSwitchyardError(error) && error.kind).toBe('auth');
      const inspected = inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true });
      expectClean('inspected error', inspected);
      // The cause is still there to debug with: the SDK error's name and its (scrubbed) message.
      expect((error as Error).cause, inspected).toBeInstanceOf(Error);
      expect(inspected).not.toMatch(/x-echo-key|authorization/i);
    }
  });
});

describe('secrets canary', () => {
  it('router: console, traces, spans and errors (incl. 401s echoing a masked key) never carry a key', async () => {
    const clock = new VirtualClock();
    const simulator = createSimulator({ clock, seed: 3, latency: { '*': ZERO_LATENCY } });
    const seen: string[] = [];
    const chaos = createChaos({
      clock,
      seed: 3,
      rules: FAULT_RULES,
      upstream: (request) => simulator.handle(request),
    });
    const spy = chaosFetch({
      handle: (request) => {
        seen.push(...keySeen(request.headers));
        return chaos.handle(request);
      },
    });
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const traces: DecisionTrace[] = [];
    const errors: unknown[] = [];
    // One router reads its keys from an explicit env, the other from process.env (the default).
    const routers = [
      new Router({
        config: routerConfig(ORIGIN),
        clock,
        fetch: spy,
        env: { OPENAI_API_KEY: OPENAI_CANARY, ANTHROPIC_API_KEY: ANTHROPIC_CANARY },
        tracer: provider.getTracer('secrets-canary'),
      }),
      new Router({ config: routerConfig(ORIGIN), clock, fetch: spy, tracer: provider.getTracer('canary-2') }),
    ];
    for (const router of routers) router.onTrace((trace) => traces.push(structuredClone(trace)));

    const work = async () => {
      let n = 0;
      for (const router of routers) {
        for (const route of ['chat', 'revoked-openai', 'revoked-anthropic', 'revoked-both']) {
          for (let i = 0; i < 3; i++) {
            n++;
            await router.complete(ask(route, n)).catch((error: unknown) => errors.push(error));
            for await (const event of router.stream(ask(route, n + 1_000))) {
              if (event.type === 'error') errors.push(event.error);
            }
          }
        }
      }
    };
    await drive(clock, work(), () => traces.length, { quietTurns: 3, maxJumps: 200_000 });
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();

    // Not vacuous: both keys reached the providers, the 401s happened, and OpenAI's echoed the key masked.
    expect(seen).toContain(OPENAI_CANARY);
    expect(seen).toContain(ANTHROPIC_CANARY);
    const auth = errors.filter((e) => isSwitchyardError(e) && e.kind === 'auth');
    expect(auth.length).toBeGreaterThanOrEqual(8);
    expect(traces.length).toBe(48);
    expect(spans.length).toBeGreaterThan(48);

    for (const error of errors) {
      expect(isSwitchyardError(error), String(error)).toBe(true);
      if (!isSwitchyardError(error)) continue;
      expectClean('error message', error.message);
      // Not even the masked form OpenAI echoes in a 401 (sk-***…tail): its tail is key material.
      expect(error.message).not.toMatch(/sk-[A-Za-z0-9*_-]{4,}/);
      expectClean('error toJSON', JSON.stringify(error.toJSON()));
      expectClean('error stack', String(error.stack));
      // Everything reachable from the error (cause chain, SDK error, response headers…).
      const inspected = inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true });
      expectClean('inspected error', inspected);
      // OpenAI's 401 echoes the key masked (sk-tes***…61f0): not in the cause chain either.
      expect(inspected).not.toMatch(/sk-[A-Za-z0-9*_-]{4,}/);
    }
    expectClean('decision traces', JSON.stringify(traces));
    expectClean(
      'otel spans',
      JSON.stringify(
        spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      ),
    );
    expectClean('console and stdout', captured.join('\n'));
    const masked = errors
      .map((e) => (isSwitchyardError(e) ? e.message : ''))
      .find((m) => m.includes('Incorrect API key'));
    // The simulator did echo the masked key (OpenAI's 401 wording); the router surfaced it scrubbed.
    expect(masked).toMatch(/Incorrect API key provided/);
    note(`[secrets] OpenAI 401 as surfaced: ${masked ?? '(none)'}`);
  });

  it('scenario run (live, keys from env): journal, JUnit, Markdown and HTML never carry a key', async () => {
    const clock = new RealClock();
    const simulator = createSimulator({ clock, seed: 5, latency: { '*': ZERO_LATENCY } });
    const seen: string[] = [];
    const scenario = defineScenario({
      name: 'secrets canary',
      description: 'Keys from the environment; one provider rejects them.',
      seed: 9,
      router: routerConfig(ORIGIN),
      load: {
        requests: 24,
        concurrency: 4,
        streamShare: 0.3,
        routes: { chat: 2, claude: 1, 'revoked-both': 1 },
      },
      faults: SCENARIO_FAULTS,
      hypotheses: [{ type: 'success_rate', atLeast: 0.1 }],
    });
    const journal = await runScenario(scenario, {
      mode: 'real-time',
      live: {
        env: { OPENAI_API_KEY: OPENAI_CANARY, ANTHROPIC_API_KEY: ANTHROPIC_CANARY },
        fetch: (async (input, init) => {
          const request = new Request(input, init);
          seen.push(...keySeen(request.headers));
          return simulator.handle(request);
        }) as typeof fetch,
      },
    });
    expect(seen).toContain(OPENAI_CANARY);
    expect(seen).toContain(ANTHROPIC_CANARY);
    const out = join(dir, 'scenario-reports');
    const { files } = await writeReports(journal, out);
    expectClean('journal (in memory)', JSON.stringify(journal));
    const written = await readTree(out);
    expect(written.map((f) => f.path).sort()).toEqual(Object.values(files).sort());
    for (const file of written) expectClean(file.path, file.text);
    // The journal shows the auth failures happened (the key was refused) without showing the key.
    expect(JSON.stringify(journal)).toMatch(/"auth"/);
    expectClean('console and stdout', captured.join('\n'));
  }, 30_000);

  it('cassette recorded through the chaos proxy: redacted, though the proxy saw the key', async () => {
    const simulator = createSimulator({ clock: new RealClock(), seed: 8, latency: { '*': ZERO_LATENCY } });
    const seen: string[] = [];
    const proxy = await startChaosProxy({
      seed: 8,
      mode: 'simulate',
      rules: FAULT_RULES,
      upstream: (request) => {
        seen.push(...keySeen(request.headers));
        return simulator.handle(request);
      },
    });
    const outFile = join(dir, 'cassette.json');
    const errors: unknown[] = [];
    try {
      // As the CLI's record command does: the keys in use are handed to the redactor.
      const recording = await record({ outFile, secrets: CANARIES });
      try {
        // Keys from process.env; the router's fetch is globalThis.fetch at call time (nock's recorder).
        const router = new Router({ config: routerConfig(proxy.url) });
        for (const route of ['chat', 'claude', 'revoked-openai', 'revoked-anthropic']) {
          await router.complete(ask(route, 1)).catch((error: unknown) => errors.push(error));
        }
      } finally {
        await recording.stop({ minInteractions: 4 });
      }
    } finally {
      await proxy.close();
    }
    expect(seen).toContain(OPENAI_CANARY);
    expect(seen).toContain(ANTHROPIC_CANARY);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    const text = await readFile(outFile, 'utf8');
    expect(JSON.parse(text).interactions.length).toBeGreaterThanOrEqual(4);
    expectClean('cassette', text);
    for (const error of errors) expectClean('inspected error', inspect(error, { depth: 10 }));
    expectClean('console and stdout', captured.join('\n'));
  });

  it('the switchyard CLI (run --live through a chaos proxy): output and reports never carry a key', async () => {
    const simulator = createSimulator({ clock: new RealClock(), seed: 4, latency: { '*': ZERO_LATENCY } });
    const seen: string[] = [];
    const proxy = await startChaosProxy({
      seed: 4,
      mode: 'simulate',
      rules: FAULT_RULES,
      upstream: (request) => {
        seen.push(...keySeen(request.headers));
        return simulator.handle(request);
      },
    });
    const work = join(dir, 'cli');
    const out = join(work, 'reports');
    let result: { code: number | null; output: string };
    try {
      await rm(work, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(work, { recursive: true }));
      const file = join(work, 'canary.scenario.json');
      await writeFile(
        file,
        JSON.stringify({
          name: 'cli secrets canary',
          description: 'Keys from the environment; one provider rejects them.',
          seed: 2,
          router: routerConfig(proxy.url),
          load: {
            requests: 12,
            concurrency: 3,
            streamShare: 0.3,
            routes: { chat: 2, claude: 1, 'revoked-both': 1 },
          },
          faults: SCENARIO_FAULTS,
          hypotheses: [{ type: 'success_rate', atLeast: 0.1 }],
        }),
      );
      result = await runCli(['run', file, '--live', '--out', out], {
        ...process.env,
        OPENAI_API_KEY: OPENAI_CANARY,
        ANTHROPIC_API_KEY: ANTHROPIC_CANARY,
        NO_COLOR: '1',
      });
    } finally {
      await proxy.close();
    }
    // The run itself may fail its hypotheses; it must have run and written its reports.
    expect(result.output).not.toBe('');
    expect(seen, result.output).toContain(OPENAI_CANARY);
    expect(seen).toContain(ANTHROPIC_CANARY);
    expectClean('CLI stdout+stderr', result.output);
    const written = await readTree(out);
    expect(
      written.some((f) => f.path.endsWith('.journal.json')),
      result.output,
    ).toBe(true);
    for (const f of written) expectClean(f.path, f.text);
  }, 60_000);
});

/** Prints past the capture (for the report). */
function note(line: string): void {
  vi.restoreAllMocks();
  process.stderr.write(`${line}\n`);
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['core/src/cli/main.ts', ...args], {
      cwd: join(import.meta.dirname, '../../..'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
