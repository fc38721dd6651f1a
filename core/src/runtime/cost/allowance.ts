import type { MemoryStore } from '../state.ts';

/**
 * How many output tokens a budgeted request reserves when it sets no max_tokens. Reserving the
 * upper bound for every such request (4,096 tokens) made most requests fall back long before a
 * budget was spent (6 of 40 served at 38% of the limit). Instead the router reserves twice the
 * longest of the deployment's last answers — at least MIN_ALLOWANCE, at most the upper bound — once
 * it has seen MIN_SAMPLES of them, and sends that allowance as the attempt's max tokens, so no
 * answer can cost more than was reserved (the no-overshoot guarantee: reserve ≥ what settle charges).
 * An answer cut by the allowance ends with finishReason 'length'; it was at least twice as long as
 * any recent one, and the next allowance doubles. Observations are kept per deployment in the
 * process's own MemoryStore, in a bounded ring: an allowance is a sizing guess, not a limit (the
 * budget ledger is the limit, and it is shared). Replicas that learn it apart only start from the
 * upper bound a little longer; sharing it would add a round trip to every budgeted gate.
 */

/** The stated upper bound when the deployment sets no maxOutputTokens. */
export const DEFAULT_OUTPUT_ALLOWANCE = 4_096;
const MIN_ALLOWANCE = 256;
const HEADROOM = 2;
const MIN_SAMPLES = 10;
const WINDOW = 50;
/** Observations older than this (no answer since) are forgotten: back to the upper bound. */
const MAX_AGE_MS = 3_600_000;

const KEY_PREFIX = 'output-lengths:';

/** Plain JSON, so that a shared store can serialise it. */
interface OutputLengths {
  recent: number[];
  /** Where the next observation goes once the ring is full. */
  next: number;
}

export class OutputAllowance {
  readonly #store: MemoryStore;

  constructor(store: MemoryStore) {
    this.#store = store;
  }

  /** Records the output tokens of one answer of a deployment. */
  async record(id: string, outputTokens: number): Promise<void> {
    if (!Number.isFinite(outputTokens) || outputTokens < 0) return;
    await this.#store.update<OutputLengths>(
      KEY_PREFIX + id,
      (current) => {
        const lengths = current ?? { recent: [], next: 0 };
        if (lengths.recent.length < WINDOW) lengths.recent.push(outputTokens);
        else {
          lengths.recent[lengths.next] = outputTokens;
          lengths.next = (lengths.next + 1) % WINDOW;
        }
        return lengths;
      },
      MAX_AGE_MS,
    );
  }

  /** Output tokens to reserve (and send as max tokens) for a request to `id` that set none. */
  async allowance(id: string, upperBound: number): Promise<number> {
    const lengths = await this.#store.get<OutputLengths>(KEY_PREFIX + id);
    if (!lengths || lengths.recent.length < MIN_SAMPLES) return upperBound;
    const longest = Math.max(...lengths.recent);
    return Math.min(upperBound, Math.max(MIN_ALLOWANCE, Math.ceil(longest * HEADROOM)));
  }
}
