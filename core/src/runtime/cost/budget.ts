import type { Clock } from '../clock.ts';
import type { BudgetConfig } from '../config/schema.ts';
import { SwitchyardError } from '../errors.ts';
import { defineOp, type StateStore } from '../state.ts';

/**
 * Spend limits per tenant and period. A call first reserves its worst-case cost, then settles with
 * the actual cost (or releases the reservation if it never reached the provider). The check and the
 * reservation happen in one named store operation (`budget.reserve`), so concurrent requests — in this process or, with a
 * shared store, in other replicas — can never jointly reserve past a limit.
 *
 * The ledger is linear: a tenant's record holds one running total per budget and the money held by
 * open reservations grouped by when they were made (at most ~60 groups), never the reservations
 * themselves. A reservation's handle carries its own amount and group, so settling it is a few
 * additions; a group still holding money once the reservation TTL has passed belongs to
 * reservations that were lost (their replica crashed), and is charged at its estimate. Each
 * operation is one small atomic change of one key, as one Redis script would make it.
 */

export type BudgetPeriod = BudgetConfig['period'];

/** Tenant used for requests that name none: '*' budgets apply to it like to any other tenant. */
export const DEFAULT_TENANT = 'default';

export interface Reservation {
  readonly id: string;
  readonly tenant: string;
  readonly estimateUsd: number;
  /** Ids of the budgets holding the money (empty when no budget applies: nothing to settle). */
  readonly budgets: readonly string[];
  /** The group (see TenantLedger.held) the money is held in. */
  readonly heldIn: number;
}

export interface BudgetSnapshot {
  /** Budget id: '<tenant in config>/<period>', e.g. 'acme/day'; the tenant part of a per-tenant default is '*'. */
  budget: string;
  tenant: string;
  period: BudgetPeriod;
  /** The current period, in UTC: '2026-01-01T10:05', '2026-01-01T10', '2026-01-01' or '2026-01'. */
  periodKey: string;
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  remainingUsd: number;
}

export interface BudgetLedgerOptions {
  /**
   * An open reservation older than this is assumed lost (e.g. its replica crashed) and is charged
   * at its estimate, so it cannot hold budget forever (up to a 60th of it early: reservations are
   * grouped by time). Default one hour, far above any request deadline.
   */
  reservationTtlMs?: number;
}

// Money is kept in integer nano-dollars: reserving and releasing the same amount must return
// exactly to zero, which floating-point sums do not guarantee.
const UNITS_PER_USD = 1e9;
const toUnits = (usd: number): number => Math.round(usd * UNITS_PER_USD);
const toUsd = (units: number): number => units / UNITS_PER_USD;

const PERIOD_KEY_LENGTH: Record<BudgetPeriod, number> = { minute: 16, hour: 13, day: 10, month: 7 };
const PERIOD_MS: Record<BudgetPeriod, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  month: 31 * 86_400_000,
};

/** The UTC period containing `nowMs`, as a sortable string prefix of the ISO timestamp. */
export function periodKey(period: BudgetPeriod, nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, PERIOD_KEY_LENGTH[period]);
}

interface LedgerEntry {
  period: string;
  spent: number;
  reserved: number;
}

/** Everything one tenant's budgets need, under one key so that one update covers them all. Plain JSON. */
interface TenantLedger {
  entries: Record<string, LedgerEntry>;
  /**
   * Units held by open reservations, by group: the reservation time divided by the group length
   * (reservationTtlMs / HOLD_GROUPS). Each group also records which budgets it holds money in.
   */
  held: Record<string, { units: number; budgets: string[] }>;
}

/** Open reservations are grouped into this many slices of the reservation TTL. */
const HOLD_GROUPS = 60;

interface Budget {
  id: string;
  config: BudgetConfig;
}

/** One budget as the ledger's operations see it: plain data, so a shared store can run them too. */
interface BudgetLine {
  id: string;
  /** The current period's key ('2026-01-01' for a day): a different stored period starts afresh. */
  period: string;
  /** Limit in units. */
  limit: number;
}

interface LedgerArgs extends Record<string, unknown> {
  budgets: BudgetLine[];
  /** Groups at or before this one hold lost reservations: charged at their estimate. */
  expiredBefore: number;
  ttlMs: number;
}

interface Overrun {
  id: string;
  period: string;
  spent: number;
  reserved: number;
  limit: number;
}

/** `unavailable`: the shared store could not be reached and budgets fail closed (state/redis.ts). */
export type ReserveResult = { stop: false; over: [] } | { stop: true; over: Overrun[]; unavailable?: true };

/**
 * Brings a tenant's ledger to the current instant, in place (the store hands each operation a value
 * no one else is changing): money held by groups of lost reservations is charged, and a budget
 * whose period ended starts afresh while keeping its in-flight reservations. Idempotent, and
 * O(groups + budgets), whatever the number of reservations in flight.
 */
function normalise(current: TenantLedger | undefined, { budgets, expiredBefore }: LedgerArgs): TenantLedger {
  const ledger: TenantLedger = current ?? { entries: {}, held: {} };
  for (const group in ledger.held) {
    if (Number(group) > expiredBefore) continue;
    const lost = ledger.held[group]!;
    for (const budget of lost.budgets) {
      const entry = ledger.entries[budget];
      if (!entry) continue;
      entry.reserved -= lost.units;
      entry.spent += lost.units;
    }
    delete ledger.held[group];
  }
  for (const { id, period } of budgets) {
    const entry = ledger.entries[id];
    if (!entry) ledger.entries[id] = { period, spent: 0, reserved: 0 };
    else if (entry.period !== period) ledger.entries[id] = { period, spent: 0, reserved: entry.reserved };
  }
  return ledger;
}

/**
 * Holds `units` against every budget, or holds nothing and names each budget it would overrun (and
 * stops the gate's sequence). A refusal writes the normalised ledger back: normalising is idempotent,
 * and the refused request's money is never touched.
 */
export const budgetReserve = defineOp<
  TenantLedger,
  LedgerArgs & { units: number; heldIn: number },
  ReserveResult
>('budget', 'budget.reserve', (current, args) => {
  const ledger = normalise(current, args);
  const over: Overrun[] = [];
  for (const { id, limit } of args.budgets) {
    const entry = ledger.entries[id]!;
    if (entry.spent + entry.reserved + args.units > limit) over.push({ id, limit, ...entry });
  }
  if (over.length > 0) return { next: ledger, result: { stop: true, over }, ttlMs: args.ttlMs };
  for (const { id } of args.budgets) ledger.entries[id]!.reserved += args.units;
  const group = ledger.held[args.heldIn];
  if (group) group.units += args.units;
  else ledger.held[args.heldIn] = { units: args.units, budgets: args.budgets.map((b) => b.id) };
  return { next: ledger, result: { stop: false, over: [] }, ttlMs: args.ttlMs };
});

/** Releases a reservation's held units and adds `spent` to each of its budgets. */
export const budgetClose = defineOp<
  TenantLedger,
  LedgerArgs & { units: number; heldIn: number; spent: number; held: string[] },
  null
>('budget', 'budget.close', (current, args) => {
  const ledger = normalise(current, args);
  const group = ledger.held[args.heldIn];
  // Its group is gone: the reservation outlived the TTL and was charged at its estimate already.
  if (!group) return { next: ledger, result: null, ttlMs: args.ttlMs };
  const released = Math.min(args.units, group.units);
  group.units -= released;
  if (group.units === 0) delete ledger.held[args.heldIn];
  for (const budgetId of args.held) {
    const entry = ledger.entries[budgetId];
    if (!entry) continue;
    entry.reserved -= released;
    entry.spent += args.spent;
  }
  return { next: ledger, result: null, ttlMs: args.ttlMs };
});

/** The tenant's totals at this instant, without writing anything. */
export const budgetRead = defineOp<TenantLedger, LedgerArgs, Record<string, LedgerEntry>>(
  'budget',
  'budget.read',
  (current, args) => {
    // A read must not change the stored record: normalise a copy (small: totals and groups only).
    const ledger = normalise(current && structuredClone(current), args);
    return { next: current, result: ledger.entries };
  },
);

export class BudgetLedger {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #budgets: Budget[];
  readonly #reservationTtlMs: number;
  readonly #groupMs: number;
  /** Reservations already settled or released by this process: closing one again does nothing. */
  readonly #closed = new WeakSet<Reservation>();

  constructor(
    store: StateStore,
    clock: Clock,
    budgets: readonly BudgetConfig[],
    options: BudgetLedgerOptions = {},
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#reservationTtlMs = options.reservationTtlMs ?? 3_600_000;
    this.#groupMs = Math.max(1, this.#reservationTtlMs / HOLD_GROUPS);
    // Ids follow the config ('acme/day'), so a changed limit keeps what was already spent.
    const seen = new Map<string, number>();
    this.#budgets = budgets.map((config) => {
      const base = `${config.tenant}/${config.period}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { id: n === 1 ? base : `${base}#${n}`, config };
    });
  }

  /** Whether any budget applies to this tenant (requests of other tenants are never reserved for). */
  applies(tenant: string | undefined): boolean {
    return this.#applicable(tenant ?? DEFAULT_TENANT).length > 0;
  }

  /** Budgets that apply to a tenant: its own, and every '*' budget (kept separately per tenant). */
  #applicable(tenant: string): Budget[] {
    return this.#budgets.filter((b) => b.config.tenant === tenant || b.config.tenant === '*');
  }

  #key(tenant: string): string {
    return `budget:${tenant}`;
  }

  /** What every ledger operation needs: the budgets in their current periods, the expiry horizon. */
  #ledgerArgs(budgets: Budget[], now: number): LedgerArgs {
    return {
      budgets: budgets.map(({ id, config }) => ({
        id,
        period: periodKey(config.period, now),
        limit: toUnits(config.limitUsd),
      })),
      expiredBefore: Math.floor((now - this.#reservationTtlMs) / this.#groupMs),
      // Once the longest period has passed with no write, everything in the key has rolled over.
      ttlMs: Math.max(0, ...budgets.map((b) => PERIOD_MS[b.config.period])) + this.#reservationTtlMs,
    };
  }

  /**
   * The reserve operation, for the gate's sequence (runAll); hand its result to `reserved`.
   * Undefined when no budget applies to the tenant.
   */
  reserveOp(tenant: string | undefined, estimateUsd: number) {
    if (!Number.isFinite(estimateUsd) || estimateUsd < 0) {
      throw new RangeError(`budget reservation must be a finite amount >= 0, got ${estimateUsd}`);
    }
    const who = tenant ?? DEFAULT_TENANT;
    const budgets = this.#applicable(who);
    if (budgets.length === 0) return undefined;
    const now = this.#clock.now();
    return budgetReserve(this.#key(who), {
      ...this.#ledgerArgs(budgets, now),
      units: toUnits(estimateUsd),
      heldIn: Math.floor(now / this.#groupMs),
    });
  }

  /**
   * The reservation a reserve operation made, or SwitchyardError('budget_exceeded') naming each
   * budget it would overrun.
   */
  reserved(
    op: ReturnType<typeof budgetReserve> | undefined,
    result: ReserveResult | undefined,
    tenant: string | undefined,
    estimateUsd: number,
  ): Reservation {
    const who = tenant ?? DEFAULT_TENANT;
    const id = crypto.randomUUID();
    if (!op || !result) return { id, tenant: who, estimateUsd, budgets: [], heldIn: 0 };
    if (result.stop && result.unavailable) {
      throw new SwitchyardError('budget_exceeded', {
        message: `budget state for tenant "${who}" is unavailable (the state store cannot be reached; budgets fail closed)`,
      });
    }
    if (result.stop) {
      const units = op.args.units;
      const budgets = this.#applicable(who);
      const message = result.over
        .map((o) => {
          const period = budgets.find((b) => b.id === o.id)?.config.period;
          return (
            `budget "${o.id}" for tenant "${who}" (${period} ${o.period}): ` +
            `$${fmt(o.spent)} spent + $${fmt(o.reserved)} reserved + $${fmt(units)} estimated ` +
            `> $${fmt(o.limit)} limit`
          );
        })
        .join('; ');
      throw new SwitchyardError('budget_exceeded', { message });
    }
    return {
      id,
      tenant: who,
      estimateUsd,
      budgets: op.args.budgets.map((b) => b.id),
      heldIn: op.args.heldIn,
    };
  }

  /**
   * Holds `estimateUsd` against every budget that applies to the tenant, or throws
   * SwitchyardError('budget_exceeded') naming each budget it would overrun. Never refuses a tenant
   * that no budget applies to.
   */
  async reserve(tenant: string | undefined, estimateUsd: number): Promise<Reservation> {
    const op = this.reserveOp(tenant, estimateUsd);
    return this.reserved(op, op && (await this.#store.run(op)), tenant, estimateUsd);
  }

  /**
   * Turns a reservation into spend at the actual cost. A cost above the estimate is recorded in full
   * (the money is spent even if it overruns the limit); settling twice, or after release, does nothing.
   */
  async settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const actual = Number.isFinite(actualUsd) ? Math.max(0, toUnits(actualUsd)) : 0;
    await this.#close(reservation, actual);
  }

  /** Gives a reservation back unspent (the call never reached the provider). */
  async release(reservation: Reservation): Promise<void> {
    await this.#close(reservation, 0);
  }

  async #close(reservation: Reservation, spentUnits: number): Promise<void> {
    if (reservation.budgets.length === 0 || this.#closed.has(reservation)) return;
    this.#closed.add(reservation);
    const budgets = this.#applicable(reservation.tenant);
    await this.#store.run(
      budgetClose(this.#key(reservation.tenant), {
        ...this.#ledgerArgs(budgets, this.#clock.now()),
        units: toUnits(reservation.estimateUsd),
        heldIn: reservation.heldIn,
        spent: spentUnits,
        held: [...reservation.budgets],
      }),
    );
  }

  /** The tenant's budgets in the current period (read-only; for reports and dashboards). */
  async snapshot(tenant: string | undefined): Promise<BudgetSnapshot[]> {
    const who = tenant ?? DEFAULT_TENANT;
    const budgets = this.#applicable(who);
    if (budgets.length === 0) return [];
    const entries = await this.#store.run(
      budgetRead(this.#key(who), this.#ledgerArgs(budgets, this.#clock.now())),
    );
    return budgets.map(({ id, config }) => {
      const entry = entries[id]!;
      const limit = toUnits(config.limitUsd);
      return {
        budget: id,
        tenant: config.tenant,
        period: config.period,
        periodKey: entry.period,
        limitUsd: config.limitUsd,
        spentUsd: toUsd(entry.spent),
        reservedUsd: toUsd(entry.reserved),
        remainingUsd: toUsd(Math.max(0, limit - entry.spent - entry.reserved)),
      };
    });
  }
}

function fmt(units: number): string {
  return toUsd(units).toFixed(6);
}
