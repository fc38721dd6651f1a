import type { Clock } from '../clock.ts';
import type { BudgetConfig } from '../config/schema.ts';
import { SwitchyardError } from '../errors.ts';
import type { StateStore } from '../state.ts';

/**
 * Spend limits per tenant and period. A call first reserves its worst-case cost, then settles with
 * the actual cost (or releases the reservation if it never reached the provider). The check and the
 * reservation happen in one `store.update`, so concurrent requests — in this process or, with a
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

  #ttlMs(budgets: Budget[]): number {
    // Once the longest period has passed with no write, everything in the key has rolled over.
    return Math.max(...budgets.map((b) => PERIOD_MS[b.config.period])) + this.#reservationTtlMs;
  }

  /**
   * Brings a tenant's ledger to the current instant, in place (the store hands each update a value
   * no one else is changing): money held by groups of lost reservations is charged, and a budget
   * whose period ended starts afresh while keeping its in-flight reservations. Idempotent, and
   * O(groups + budgets), whatever the number of reservations in flight.
   */
  #normalise(current: TenantLedger | undefined, budgets: Budget[], now: number): TenantLedger {
    const ledger: TenantLedger = current ?? { entries: {}, held: {} };
    const expiredBefore = Math.floor((now - this.#reservationTtlMs) / this.#groupMs);
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
    for (const { id, config } of budgets) {
      const period = periodKey(config.period, now);
      const entry = ledger.entries[id];
      if (!entry) ledger.entries[id] = { period, spent: 0, reserved: 0 };
      else if (entry.period !== period) ledger.entries[id] = { period, spent: 0, reserved: entry.reserved };
    }
    return ledger;
  }

  /**
   * Holds `estimateUsd` against every budget that applies to the tenant, or throws
   * SwitchyardError('budget_exceeded') naming each budget it would overrun. Never refuses a tenant
   * that no budget applies to.
   */
  async reserve(tenant: string | undefined, estimateUsd: number): Promise<Reservation> {
    if (!Number.isFinite(estimateUsd) || estimateUsd < 0) {
      throw new RangeError(`budget reservation must be a finite amount >= 0, got ${estimateUsd}`);
    }
    const who = tenant ?? DEFAULT_TENANT;
    const budgets = this.#applicable(who);
    const id = crypto.randomUUID();
    if (budgets.length === 0) return { id, tenant: who, estimateUsd, budgets: [], heldIn: 0 };

    const units = toUnits(estimateUsd);
    const ids = budgets.map((b) => b.id);
    let heldIn = 0;
    let over: string[] = [];
    // A refusal writes the normalised ledger back unchanged rather than throwing from inside the
    // update: normalising is idempotent, and the money of the refused request is never touched.
    await this.#store.update<TenantLedger>(
      this.#key(who),
      (current) => {
        const now = this.#clock.now();
        const ledger = this.#normalise(current, budgets, now);
        over = [];
        for (const { id: budgetId, config } of budgets) {
          const entry = ledger.entries[budgetId]!;
          const limit = toUnits(config.limitUsd);
          if (entry.spent + entry.reserved + units > limit) {
            over.push(
              `budget "${budgetId}" for tenant "${who}" (${config.period} ${entry.period}): ` +
                `$${fmt(entry.spent)} spent + $${fmt(entry.reserved)} reserved + $${fmt(units)} estimated ` +
                `> $${fmt(limit)} limit`,
            );
          }
        }
        if (over.length > 0) return ledger;
        for (const budgetId of ids) ledger.entries[budgetId]!.reserved += units;
        heldIn = Math.floor(now / this.#groupMs);
        const group = ledger.held[heldIn];
        if (group) group.units += units;
        else ledger.held[heldIn] = { units, budgets: ids };
        return ledger;
      },
      this.#ttlMs(budgets),
    );
    if (over.length > 0) throw new SwitchyardError('budget_exceeded', { message: over.join('; ') });
    return { id, tenant: who, estimateUsd, budgets: ids, heldIn };
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
    const units = toUnits(reservation.estimateUsd);
    await this.#store.update<TenantLedger>(
      this.#key(reservation.tenant),
      (current) => {
        const ledger = this.#normalise(current, budgets, this.#clock.now());
        const group = ledger.held[reservation.heldIn];
        // Its group is gone: the reservation outlived the TTL and was charged at its estimate already.
        if (!group) return ledger;
        const released = Math.min(units, group.units);
        group.units -= released;
        if (group.units === 0) delete ledger.held[reservation.heldIn];
        for (const budgetId of reservation.budgets) {
          const entry = ledger.entries[budgetId];
          if (!entry) continue;
          entry.reserved -= released;
          entry.spent += spentUnits;
        }
        return ledger;
      },
      budgets.length > 0 ? this.#ttlMs(budgets) : undefined,
    );
  }

  /** The tenant's budgets in the current period (read-only; for reports and dashboards). */
  async snapshot(tenant: string | undefined): Promise<BudgetSnapshot[]> {
    const who = tenant ?? DEFAULT_TENANT;
    const budgets = this.#applicable(who);
    if (budgets.length === 0) return [];
    const stored = await this.#store.get<TenantLedger>(this.#key(who));
    // A read must not change the stored record: normalise a copy (small: totals and groups only).
    const ledger = this.#normalise(stored && structuredClone(stored), budgets, this.#clock.now());
    return budgets.map(({ id, config }) => {
      const entry = ledger.entries[id]!;
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
