/** budget_never_exceeded: spend per tenant and budget period stays within the budget. */
import { periodKey } from '../../runtime/cost/budget.ts';
import { defineCheck, INTERNALS, inconclusive, judged, MAX_EXAMPLES } from './check.ts';
import { pct, usd } from './select.ts';

/** Spend from the attempts' own costs per tenant and budget period (not the ledger's view). */
export const budgetNeverExceeded = defineCheck(
  { type: 'budget_never_exceeded', needs: 'internals', reads: INTERNALS.budgets },
  (h, selected, parts) => {
    const summary = 'no budget is ever exceeded';
    const expected = 'spend ≤ limit in every budget period';
    const budgets = parts.config.budgets.filter(
      (b) => h.tenant === undefined || b.tenant === h.tenant || b.tenant === '*',
    );
    if (budgets.length === 0) return inconclusive(summary, expected, 'no budget applies');
    const origin = parts.clockOriginMs ?? 0;
    const over: string[] = [];
    const examples: string[] = [];
    let highest = 0;
    let spentAny = false;
    for (const budget of budgets) {
      const spent = new Map<string, { usd: number; ids: string[] }>();
      for (const r of selected) {
        const tenant = r.tenant ?? 'default';
        if (budget.tenant !== '*' && tenant !== budget.tenant) continue;
        if (h.tenant !== undefined && tenant !== h.tenant) continue;
        for (const a of r.attempts) {
          if (a.costUsd === 0) continue;
          spentAny = true;
          // Spend is settled when the attempt ends: that is the period it counts in.
          const key = `${tenant} ${periodKey(budget.period, origin + a.endMs)}`;
          const entry = spent.get(key) ?? { usd: 0, ids: [] };
          entry.usd += a.costUsd;
          entry.ids.push(r.id);
          spent.set(key, entry);
        }
      }
      for (const [key, entry] of spent) {
        highest = Math.max(highest, entry.usd / budget.limitUsd);
        // A float sum of many small costs may exceed by rounding only.
        if (entry.usd > budget.limitUsd * (1 + 1e-9)) {
          over.push(`${key}: ${usd(entry.usd)} > ${usd(budget.limitUsd)}`);
          examples.push(...entry.ids.slice(-MAX_EXAMPLES));
        }
      }
    }
    if (!spentAny) return inconclusive(summary, expected, 'nothing was spent under a budget');
    return {
      summary,
      verdict: judged(over.length === 0),
      expected,
      actual:
        over.length === 0
          ? `highest use ${pct(highest)} of a budget (${budgets.length} budgets)`
          : `exceeded: ${over.slice(0, 3).join('; ')}${over.length > 3 ? `; … ${over.length} periods in all` : ''}`,
      examples: [...new Set(examples)],
    };
  },
);
