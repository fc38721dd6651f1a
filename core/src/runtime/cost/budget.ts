import type { Clock } from '../clock.ts';
import type { BudgetConfig } from '../config/schema.ts';
import { SwitchyardError } from '../errors.ts';
import type { StateStore } from '../state.ts';

/**
 * Spend limits per tenant and period. A call first reserves its worst-case cost, then settles with
 * the actual cost (or releases the reservation if it never reached the provider). The check and the
 * reservation happen in one `store.update`, so concurrent requests — in this process or, with a
 * shared store, in other replicas — can never jointly reserve past a limit.
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
   * at its estimate, so it cannot hold budget forever. Default one hour, far above any request deadline.
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

interface OpenReservation {
  units: number;
  budgets: string[];
  expiresAt: number;
}

/** Everything one tenant's budgets need, under one key so that one update covers them all. */
interface TenantLedger {
  entries: Record<string, LedgerEntry>;
  open: Record<string, OpenReservation>;
}

interface Budget {
  id: string;
  config: BudgetConfig;
}

export class BudgetLedger {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #budgets: Budget[];
  readonly #reservationTtlMs: number;

  constructor(
    store: StateStore,
    clock: Clock,
    budgets: readonly BudgetConfig[],
    options: BudgetLedgerOptions = {},
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#reservationTtlMs = options.reservationTtlMs ?? 3_600_000;
    // Ids follow the config ('acme/day'), so a changed limit keeps what was already spent.
    const seen = new Map<string, number>();
    this.#budgets = budgets.map((config) => {
      const base = `${config.tenant}/${config.period}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { id: n === 1 ? base : `${base}#${n}`, config };
    });
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
   * Brings a tenant's ledger to the current instant without mutating `current` (the store may hold
   * it by reference, and a refused reservation must write nothing): expired reservations are charged,
   * and a budget whose period ended starts afresh while keeping its in-flight reservations.
   */
  #normalise(current: TenantLedger | undefined, budgets: Budget[], now: number): TenantLedger {
    const next: TenantLedger = current ? structuredClone(current) : { entries: {}, open: {} };
    for (const [id, open] of Object.entries(next.open)) {
      if (open.expiresAt > now) continue;
      for (const budget of open.budgets) {
        const entry = next.entries[budget];
        if (!entry) continue;
        entry.reserved -= open.units;
        entry.spent += open.units;
      }
      delete next.open[id];
    }
    for (const { id, config } of budgets) {
      const period = periodKey(config.period, now);
      const entry = next.entries[id];
      if (!entry) next.entries[id] = { period, spent: 0, reserved: 0 };
      else if (entry.period !== period) next.entries[id] = { period, spent: 0, reserved: entry.reserved };
    }
    return next;
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
    if (budgets.length === 0) return { id, tenant: who, estimateUsd, budgets: [] };

    const units = toUnits(estimateUsd);
    await this.#store.update<TenantLedger>(
      this.#key(who),
      (current) => {
        const now = this.#clock.now();
        const next = this.#normalise(current, budgets, now);
        const over: string[] = [];
        for (const { id: budgetId, config } of budgets) {
          const entry = next.entries[budgetId]!;
          const limit = toUnits(config.limitUsd);
          if (entry.spent + entry.reserved + units > limit) {
            over.push(
              `budget "${budgetId}" for tenant "${who}" (${config.period} ${entry.period}): ` +
                `$${fmt(entry.spent)} spent + $${fmt(entry.reserved)} reserved + $${fmt(units)} estimated ` +
                `> $${fmt(limit)} limit`,
            );
          }
        }
        if (over.length > 0) throw new SwitchyardError('budget_exceeded', { message: over.join('; ') });
        for (const { id: budgetId } of budgets) next.entries[budgetId]!.reserved += units;
        next.open[id] = { units, budgets: budgets.map((b) => b.id), expiresAt: now + this.#reservationTtlMs };
        return next;
      },
      this.#ttlMs(budgets),
    );
    return { id, tenant: who, estimateUsd, budgets: budgets.map((b) => b.id) };
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
    if (reservation.budgets.length === 0) return;
    const budgets = this.#applicable(reservation.tenant);
    await this.#store.update<TenantLedger>(
      this.#key(reservation.tenant),
      (current) => {
        const next = this.#normalise(current, budgets, this.#clock.now());
        const open = next.open[reservation.id];
        if (!open) return next;
        for (const budgetId of open.budgets) {
          const entry = next.entries[budgetId];
          if (!entry) continue;
          entry.reserved -= open.units;
          entry.spent += spentUnits;
        }
        delete next.open[reservation.id];
        return next;
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
    const ledger = this.#normalise(stored, budgets, this.#clock.now());
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
