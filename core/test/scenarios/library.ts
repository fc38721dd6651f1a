import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../../src/scenarios/index.ts';

/** The shipped scenario library (scenarios/*.yaml, not its router configs). */
export const LIBRARY = join(import.meta.dirname, '../../../scenarios');
export const LIBRARY_FILES = readdirSync(LIBRARY)
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('router.'))
  .sort();

/**
 * A scenario at a fraction of its load, for the in-process runs that kill mutants: an open-loop
 * load keeps its duration and fault windows at a third of its rate; a closed loop keeps its length
 * with half its callers; a fixed count is cut to a third. What each hypothesis needs evidence of (a
 * breaker that opens, a Retry-After, a stream cut mid-way, a budget spent) still happens.
 */
export function reduced(scenario: Scenario): Scenario {
  const load = { ...scenario.load };
  if (load.rate !== undefined) load.rate /= 3;
  if (load.concurrency !== undefined) load.concurrency = Math.max(1, Math.ceil(load.concurrency / 2));
  if (load.requests !== undefined) load.requests = Math.max(1, Math.ceil(load.requests / 3));
  return { ...scenario, load };
}

/**
 * The weakened router configs (scenarios/weakened/): each removes one protection, and the shipped
 * scenarios written for it must fail exactly the hypotheses (by id) that check it, on evidence.
 * Checked through the CLI at full load (test/cli/weakened.test.ts) and in process at reduced load
 * (weakened.test.ts beside this file).
 */
export const WEAKENED_CASES = [
  {
    config: 'scenarios/weakened/no-jitter.yaml',
    scenarios: ['scenarios/retry-storm.yaml'],
    mustFail: { 'retry-storm': ['retries-not-in-lockstep'] },
  },
  {
    config: 'scenarios/weakened/retry-everything.yaml',
    scenarios: ['scenarios/auth-key-revoked.yaml', 'scenarios/quota-exhausted.yaml'],
    mustFail: { 'auth-key-revoked': ['auth-never-retried'], 'quota-exhausted': ['quota-never-retried'] },
  },
  {
    config: 'scenarios/weakened/no-breaker.yaml',
    scenarios: ['scenarios/flapping-provider.yaml', 'scenarios/provider-outage-failover.yaml'],
    mustFail: { 'flapping-provider': ['breaker-trips'], 'provider-outage-failover': ['breaker-trips'] },
  },
  // Issue 10's new hypothesis types, one weakened config each:
  {
    // breaker_thrash
    config: 'scenarios/weakened/hair-trigger-breaker.yaml',
    scenarios: ['scenarios/flapping-provider.yaml'],
    mustFail: { 'flapping-provider': ['no-thrash'] },
  },
  {
    // every_fallback_tried
    config: 'scenarios/weakened/fallback-on-rate-limit-only.yaml',
    scenarios: ['scenarios/cache-under-outage.yaml'],
    mustFail: { 'cache-under-outage': ['whole-chain-before-failing'] },
  },
  {
    // no_deadline_death_with_healthy_fallback
    config: 'scenarios/weakened/deadline-shorter-than-attempt.yaml',
    scenarios: ['scenarios/black-hole.yaml'],
    mustFail: { 'black-hole': ['no-deadline-death'] },
  },
  {
    // no_request_left_hanging
    config: 'scenarios/weakened/no-deadlines.yaml',
    scenarios: ['scenarios/black-hole.yaml'],
    mustFail: { 'black-hole': ['nothing-hangs'] },
  },
  {
    // retry_after_respected_across_requests
    config: 'scenarios/weakened/no-cooldowns.yaml',
    scenarios: ['scenarios/rate-limit-storm.yaml'],
    mustFail: { 'rate-limit-storm': ['retry-after-across-requests'] },
  },
] as const;
