/**
 * A tiny seeded PRNG so fault decisions are reproducible: same seed + same request order + same clock
 * time → same faults. mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32, good
 * enough statistical quality for injection rates; not for cryptography.
 */
export type Random = () => number;

/** Returns a generator of floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derives an independent 32-bit seed from a base seed and a label (FNV-1a over the label, mixed with
 * the seed), so each rule gets its own stream: adding or removing one rule never shifts another's draws.
 */
export function deriveSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // One round of mulberry32 scrambles the low-entropy FNV output.
  return Math.floor(mulberry32(hash)() * 4294967296) >>> 0;
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A deterministic identifier of `length` characters from `alphabet`. */
export function randomId(random: Random, length: number, alphabet = ALPHABET): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}
