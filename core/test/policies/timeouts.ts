import { timeoutsSchema } from '../../src/runtime/config/schema.ts';

/** Deadlines a test can tell apart by their length (each phase's own), for the deadline tests. */
export const timeouts = timeoutsSchema.parse({
  headersMs: 1_000,
  firstTokenMs: 2_000,
  idleMs: 500,
  bodyIdleMs: 700,
  attemptMs: 10_000,
  totalMs: 30_000,
});
