/**
 * Record real exchanges to a cassette with nock's recorder, then replay them to the real SDKs with no
 * network. Cassettes are meant to be committed, so everything that identifies an account is redacted
 * before the file is written: credential and organisation headers, cookies, the key values themselves
 * wherever they appear (bodies, paths, error messages), and anything shaped like a provider key.
 *
 * nock patches http and fetch as soon as it is imported, so it is loaded lazily here: importing the
 * faults room never changes global networking.
 */
import { isUtf8 } from 'node:buffer';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type nockModule from 'nock';

/**
 * One recorded exchange, as nock's recorder writes it (its `Definition`). Declared here rather than
 * imported so that the published declarations do not need nock, an optional peer dependency.
 */
export interface Interaction {
  scope: string | RegExp;
  path: string | RegExp;
  port?: number | string;
  method?: string;
  status?: number;
  body?: unknown;
  reqheaders?: Record<string, unknown>;
  rawHeaders?: Record<string, string | string[]>;
  response?: unknown;
  responseIsBinary?: boolean;
}

/** The interceptors of one replayed origin (the part of nock's `Scope` a test asks). */
export interface ReplayScope {
  isDone(): boolean;
  done(): void;
  pendingMocks(): string[];
}

type Definition = Interaction;

export const REDACTED = '[REDACTED]';

/** Headers that carry credentials or identify the account/organisation (request and response). */
export const SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'cookie',
  'set-cookie',
  'openai-organization',
  'openai-project',
  'anthropic-organization-id',
];

/**
 * Strings shaped like provider keys (OpenAI sk-…, sk-proj-…, Anthropic sk-ant-…), including the masked
 * form OpenAI echoes in a 401 (`sk-****…6f28`), whose visible tail is still key material.
 */
const KEY_PATTERN = /sk-[A-Za-z0-9_*-]{8,}/g;

export interface Cassette {
  switchyardCassette: 1;
  recordedAt: string;
  /** Header names whose values were replaced. */
  redactedHeaders: string[];
  interactions: Definition[];
}

export interface RecordOptions {
  outFile: string;
  /** Values to scrub wherever they appear (the API keys in use). */
  secrets?: string[];
  /** More header names to redact. */
  redactHeaders?: string[];
  /** Keep only interactions whose scope (origin) is listed. */
  scopes?: string[];
}

export interface Recording {
  /** Stops recording, waits for in-flight recordings to land, redacts, writes the cassette and returns it. */
  stop(options?: { minInteractions?: number; settleMs?: number }): Promise<Cassette>;
}

async function loadNock() {
  return (await import('nock')).default;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function redactHeaderRecord(
  headers: Record<string, unknown> | undefined,
  names: Set<string>,
): Record<string, unknown> | undefined {
  if (!headers) return headers;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = names.has(name.toLowerCase()) ? REDACTED : value;
  return out;
}

/** Redacts one recorded interaction; exported so cassettes from elsewhere can be cleaned the same way. */
export function redactInteractions(
  interactions: Definition[],
  options: { secrets?: string[]; redactHeaders?: string[] } = {},
): Definition[] {
  const names = new Set([...SENSITIVE_HEADERS, ...(options.redactHeaders ?? [])].map((n) => n.toLowerCase()));
  const headerClean = interactions.map((interaction) => ({
    ...interaction,
    reqheaders: redactHeaderRecord(interaction.reqheaders, names) as Definition['reqheaders'],
    rawHeaders: redactHeaderRecord(
      interaction.rawHeaders as Record<string, unknown>,
      names,
    ) as Definition['rawHeaders'],
  }));
  // Then scrub values anywhere in the serialised form: bodies, paths, error messages echoing a key.
  let text = JSON.stringify(headerClean);
  for (const secret of options.secrets ?? []) {
    if (secret.length === 0) continue;
    text = text.replace(new RegExp(escapeRegExp(JSON.stringify(secret).slice(1, -1)), 'g'), REDACTED);
  }
  text = text.replace(KEY_PATTERN, REDACTED);
  return JSON.parse(text) as Definition[];
}

/** Starts nock's recorder. Only one recording can run per process (nock's recorder is global). */
export async function record(options: RecordOptions): Promise<Recording> {
  const nock = await loadNock();
  nock.recorder.clear();
  nock.recorder.rec({ output_objects: true, dont_print: true, enable_reqheaders_recording: true });
  return {
    async stop(stopOptions = {}) {
      const settleMs = stopOptions.settleMs ?? 50;
      const minInteractions = stopOptions.minInteractions ?? 0;
      // nock records asynchronously once each response body has been read: wait until the count is
      // stable (and at least minInteractions), up to two seconds.
      const deadline = Date.now() + 2000;
      let last = -1;
      for (;;) {
        const count = nock.recorder.play().length;
        if (count === last && count >= minInteractions) break;
        if (Date.now() > deadline) break;
        last = count;
        await new Promise((resolve) => setTimeout(resolve, settleMs));
      }
      const recorded = (nock.recorder.play() as Definition[]).filter(
        (definition) => !options.scopes || options.scopes.includes(String(definition.scope)),
      );
      nock.restore();
      nock.recorder.clear();
      const cassette: Cassette = {
        switchyardCassette: 1,
        recordedAt: new Date().toISOString(),
        redactedHeaders: [...SENSITIVE_HEADERS, ...(options.redactHeaders ?? [])],
        interactions: redactInteractions(recorded.map(decodeResponse).map(stripTransportHeaders), options),
      };
      await mkdir(dirname(options.outFile), { recursive: true });
      await writeFile(options.outFile, `${JSON.stringify(cassette, null, 2)}\n`);
      return cassette;
    },
  };
}

const DECODERS: Record<string, (bytes: Buffer) => Buffer> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/** Stands in for a body that could not be decoded, so could not be checked for keys. */
export const UNDECODABLE_BODY = '[REDACTED: a body in an encoding that could not be decoded]';

/**
 * nock keeps a content-encoded response as hex chunks of the compressed bytes, where neither the
 * redaction nor a reviewer can see a key. The body is decoded here (content-codings undone in
 * reverse order) and stored as its text, or the JSON it holds; replay then serves it without a
 * content-encoding header (stripTransportHeaders), consistent with what was stored.
 */
function decodeResponse(definition: Definition): Definition {
  const headers = (definition.rawHeaders ?? {}) as Record<string, unknown>;
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'content-encoding');
  const chunks = definition.response;
  if (name === undefined || !Array.isArray(chunks) || !chunks.every((c) => typeof c === 'string')) {
    return definition;
  }
  const codings = String(headers[name])
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  let bytes: Buffer = Buffer.from(chunks.join(''), 'hex');
  try {
    for (const coding of codings.reverse()) {
      const decode = DECODERS[coding];
      if (!decode) throw new Error(`unknown content-encoding ${coding}`);
      bytes = decode(bytes);
    }
  } catch {
    return { ...definition, response: UNDECODABLE_BODY, responseIsBinary: false };
  }
  if (!isUtf8(bytes)) return { ...definition, response: bytes.toString('hex'), responseIsBinary: true };
  const text = bytes.toString('utf8');
  let response: unknown = text;
  try {
    response = JSON.parse(text);
  } catch {
    // not JSON (an SSE stream, plain text): kept as text
  }
  return { ...definition, response: response as Definition['response'], responseIsBinary: false };
}

/** Headers that describe the recorded connection, not the exchange; replaying them would lie. */
function stripTransportHeaders(definition: Definition): Definition {
  const raw = { ...(definition.rawHeaders as Record<string, unknown> | undefined) };
  for (const name of [
    'transfer-encoding',
    'connection',
    'keep-alive',
    'content-length',
    'content-encoding',
  ]) {
    delete raw[name];
  }
  return { ...definition, rawHeaders: raw as Definition['rawHeaders'] };
}

export interface ReplayOptions {
  /** Match recorded request bodies (default true). Headers are never matched: they were redacted. */
  matchBody?: boolean;
  /** Leave other network access on (default false: anything not in the cassette fails). */
  allowNetConnect?: boolean;
}

export interface Replay {
  scopes: ReplayScope[];
  /** Interactions not yet replayed, as nock describes them. */
  pending(): string[];
  /** Removes the interceptors and re-enables the network. */
  restore(): Promise<void>;
}

/** Defines nock interceptors from a cassette so SDK calls get the recorded responses. */
export async function replay(cassetteFile: string, options: ReplayOptions = {}): Promise<Replay> {
  const nock = await loadNock();
  const parsed = JSON.parse(await readFile(cassetteFile, 'utf8')) as Cassette | Definition[];
  const interactions = Array.isArray(parsed) ? parsed : parsed.interactions;
  const definitions = interactions.map((interaction) => {
    const { reqheaders: _redacted, ...rest } = interaction;
    return options.matchBody === false ? { ...rest, body: undefined } : rest;
  });
  if (!nock.isActive()) nock.activate();
  if (!options.allowNetConnect) nock.disableNetConnect();
  const scopes = nock.define(definitions as nockModule.Definition[]);
  return {
    scopes,
    pending: () => nock.pendingMocks(),
    async restore() {
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}
