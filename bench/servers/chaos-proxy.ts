/**
 * `startChaosProxy` in forward mode (what `switchyard serve` runs), in its own process like the peer
 * gateway, forwarding OpenAI paths to UPSTREAM (a loopback origin) with no fault rules. Prints
 * `port <n>` when ready; exits when its parent closes stdin or sends SIGTERM.
 */
import { startChaosProxy } from '@switchyard/core/faults';

const upstream = process.env.UPSTREAM;
if (!upstream?.startsWith('http://127.0.0.1:')) throw new Error('UPSTREAM must be a loopback origin');
const proxy = await startChaosProxy({ mode: 'forward', seed: 1, upstreams: { openai: upstream } });
console.log(`port ${proxy.port}`);
const stop = () => void proxy.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
