/**
 * What the harness runs a scenario against. Two targets: the in-process Router over the simulated
 * (or live) providers (targets/router.ts), and an external HTTP gateway whose upstreams point at the chaos
 * proxy (targets/gateway/). The harness drives the load and grades; a target sends, and says what it saw.
 */

import type { Unseen } from '../hypotheses/index.ts';
import type { AgainstSummary, FaultCounters, RequestRecord, RunJournal } from '../journal.ts';
import type { Send } from './driver.ts';

export interface Target {
  /** The run's mode, as the journal records it. */
  readonly mode: RunJournal['mode'];
  /** Sends one request as a caller would and consumes its answer (the driver's `Send`). */
  send: Send;
  /**
   * What the run showed, once the load is over. `t0`/`endAt`: the run's start and end on its clock;
   * `hung`: ids of requests sent that never ended.
   */
  records(run: { t0: number; endAt: number; hung: readonly string[] }): TargetRecords;
  /**
   * Virtual time: work the target holds until the driver lets it in between turns (a shared state
   * store's answers, so the same seed gives the same journal); resolves to how many it let in.
   */
  settle?(): Promise<number>;
  /** Releases what the target holds for the run (listeners, the proxy's handler). */
  close(): Promise<void>;
}

export interface TargetRecords {
  /** One record per request sent (hung ones included), in start order. */
  requests: RequestRecord[];
  breakerTransitions: RunJournal['breakerTransitions'];
  faultCounters: FaultCounters;
  /** What this target could not show the hypotheses (see hypotheses/index.ts). */
  unseen: Unseen;
  /** A gateway target: the gateway graded and how its upstream calls were tied to requests. */
  against?: AgainstSummary;
}
