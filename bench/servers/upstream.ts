/**
 * The loopback upstream for the proxy benchmark: a tiny node:http server answering every POST
 * .../chat/completions with the same canned OpenAI completion (no simulator work, so the figures
 * measure the proxies, not the upstream). Listens on 127.0.0.1 only; prints `port <n>` when ready
 * and exits when its parent closes stdin or sends SIGTERM.
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

const server = createServer((req, res) => {
  // Drain the request body before answering (as a real provider would read the prompt).
  req.resume();
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
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
