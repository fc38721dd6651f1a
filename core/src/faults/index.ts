/**
 * The faults room's public entry: simulated providers, the fault catalogue and chaos handler, and the
 * ways to deliver them (MSW in-process, a chaos proxy on a socket, nock record/replay). It depends on
 * runtime types and the Clock only, never on the router.
 */
export * from './chaos/index.ts';
export * from './delivery/index.ts';
export * from './simulator/index.ts';
