/**
 * The loopback upstream for the proxy and gateway benchmarks: a tiny node:http server answering every
 * POST .../chat/completions with the same canned OpenAI completion (no simulator work, so the figures
 * measure the proxies, not the upstream), or, when the body asks for a stream, the same answer as
 * STREAM_CHUNKS server-sent chunks STREAM_INTERVAL_MS apart (default 1 and 0: one chunk at once) —
 * long paced streams keep many in flight at once (gateway bench, RSS at 1,000 streams). Listens on
 * 127.0.0.1 only; prints `port <n>` when ready and exits when its parent closes stdin or sends SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_767_225_600,
  model: 'gpt-4.1',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'TCP: reliable, ordered bytes over IP.', refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 14, completion_tokens: 9, total_tokens: 23 },
});
const length = Buffer.byteLength(body);

const STREAM_CHUNKS = Number(process.env.STREAM_CHUNKS ?? 1);
const STREAM_INTERVAL_MS = Number(process.env.STREAM_INTERVAL_MS ?? 0);
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_767_225_600,
    model: 'gpt-4.1',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  })}\n\n`;
const usageChunk = `data: ${JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion.chunk',
  created: 1_767_225_600,
  model: 'gpt-4.1',
  choices: [],
  usage: { prompt_tokens: 14, completion_tokens: STREAM_CHUNKS, total_tokens: 14 + STREAM_CHUNKS },
})}\n\n`;

/** The canned answer as a paced stream: one word-ish piece per chunk, then finish, usage, [DONE]. */
function stream(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(chunk({ role: 'assistant', content: '' }));
  let sent = 0;
  const next = () => {
    if (res.destroyed) return;
    if (sent < STREAM_CHUNKS) {
      res.write(chunk({ content: `tok${sent} ` }));
      sent++;
      if (STREAM_INTERVAL_MS > 0) setTimeout(next, STREAM_INTERVAL_MS);
      else next();
      return;
    }
    res.end(`${chunk({}, 'stop')}${usageChunk}data: [DONE]\n\n`);
  };
  next();
}

const server = createServer((req, res) => {
  // Read the request body before answering (as a real provider would read the prompt).
  let text = '';
  req.setEncoding('utf8').on('data', (part: string) => {
    text += part;
  });
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    if (/"stream"\s*:\s*true/.test(text)) return stream(res);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': length }).end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`port ${(server.address() as AddressInfo).port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
