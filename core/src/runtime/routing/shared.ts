import { defineOp } from '../state.ts';

/**
 * Routing state in the StateStore, shared by replicas: round-robin counters (one per route, so three
 * replicas take turns as one router would) and the parameters each deployment has rejected (learned
 * by one replica, rewritten by all).
 */

export const roundRobinKey = (route: string) => `round-robin:${route}`;
export const rewritesKey = (deployment: string) => `rewrites:${deployment}`;

/** The counter's value before this call, then counts it. */
export const counterNext = defineOp<number, Record<string, never>, number>(
  'routing',
  'counter.next',
  (current) => {
    const value = current ?? 0;
    return { next: value + 1, result: value };
  },
);

/** Adds a name to a small set (kept as a sorted list); answers nothing. */
export const setAdd = defineOp<string[], { member: string }, null>(
  'routing',
  'set.add',
  (current, { member }) => {
    if (current?.includes(member)) return { next: current, result: null };
    return { next: [...(current ?? []), member].sort(), result: null };
  },
);

/** The set's members (empty when there is none); never stops a sequence. */
export const setRead = defineOp<string[], Record<string, never>, string[]>(
  'routing',
  'set.read',
  (current) => ({
    next: current,
    result: current ?? [],
  }),
);
