/** Ways to put the chaos handler in a client's path: as a fetch, in-process (MSW), over a socket, or from a cassette. */
export { chaosFetch } from './fetch.ts';
export type { ChaosMsw, MswServer, WithChaosOptions } from './msw.ts';
export { DEFAULT_ORIGINS, withChaos } from './msw.ts';
export type { ChaosProxy, ChaosProxyOptions } from './proxy-server.ts';
export { ADMIN_PREFIX, startChaosProxy } from './proxy-server.ts';
export type {
  Cassette,
  Interaction,
  Recording,
  RecordOptions,
  Replay,
  ReplayOptions,
  ReplayScope,
} from './record-replay.ts';
export { REDACTED, record, redactInteractions, replay, SENSITIVE_HEADERS } from './record-replay.ts';
