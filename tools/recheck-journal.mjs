#!/usr/bin/env node
// Re-checks a Switchyard run journal from its raw records alone, without Switchyard: plain Node, no
// dependencies. For every hypothesis it re-derives the verdict (passed, failed, inconclusive) from the
// requests, attempts, breaker transitions, fault windows, budgets and config the journal carries,
// and compares it with the verdict the runner wrote. It also re-derives the run's verdict.
//
//   node tools/recheck-journal.mjs reports/*.journal.json [--json]
//
// Exit 0 when every verdict agrees, 1 when one does not, 2 on unreadable input. It is written apart
// from the runner on purpose (same definitions, other code): the facts it relies on are stated below.

import { readFileSync } from 'node:fs';

// Switchyard's error taxonomy (core/src/runtime/errors.ts): kinds no other deployment can fix, and the
// kinds a router must never retry as they are by default (non_retryable_not_retried).
const NOT_FALLBACKABLE = new Set(['bad_request', 'cancelled']);
const NOT_RETRYABLE = [
  'quota_exhausted',
  'auth',
  'bad_request',
  'not_found',
  'context_overflow',
  'content_filtered',
  'budget_exceeded',
  'circuit_open',
];
// Failures a breaker counts unless the config says otherwise (core/src/runtime/policies/breaker.ts).
const BREAKER_COUNTS = [
  'server_error',
  'overloaded',
  'timeout',
  'network',
  'malformed_response',
  'rate_limited',
];
// A budget period is the UTC minute / hour / day / month of the clock: ISO 8601 prefixes.
const PERIOD_CHARS = { minute: 16, hour: 13, day: 10, month: 7 };

const passed = (ok, why) => ({ verdict: ok ? 'passed' : 'failed', why });
const unsure = (why) => ({ verdict: 'inconclusive', why });

function select(journal, spec) {
  const windows = journal.faultWindows;
  const first = Math.min(...windows.map((w) => w.fromMs));
  const last = Math.max(...windows.map((w) => w.toMs));
  const inPhase = (r) => {
    if (spec.phase === 'overall' || spec.phase === undefined) return true;
    if (windows.length === 0) return spec.phase === 'before';
    if (spec.phase === 'before') return r.startMs < first;
    if (spec.phase === 'after') return r.startMs >= last;
    return windows.some((w) => r.startMs >= w.fromMs && r.startMs < w.toMs);
  };
  const where = spec.where ?? {};
  const matches = (r) =>
    (where.tags ?? []).every((t) => r.tags.includes(t)) &&
    (where.tenant === undefined || r.tenant === where.tenant) &&
    (where.route === undefined || r.route === where.route) &&
    (where.stream === undefined || r.stream === where.stream);
  return { selected: journal.requests.filter((r) => inPhase(r) && matches(r)), matches };
}

const nearestRank = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
};
const waitOf = (a) => a.retryAfterSentMs ?? a.retryAfterMs;
const pathOf = (r) => r.attempts.map((a) => a.deployment).filter((d, i, all) => all[i - 1] !== d);

function chainOf(config, route) {
  const named = config.routes.find((r) => r.name === route);
  if (named) return [...new Set([...named.deployments, ...named.fallbacks])];
  if (config.deployments.some((d) => d.id === route)) return [route];
  return config.deployments.map((d) => d.id);
}

function deploymentsSeen(journal, selected, only) {
  if (only) return [only];
  const ids = new Set(journal.breakerTransitions.map((t) => t.deployment));
  for (const r of selected) for (const a of r.attempts) ids.add(a.deployment);
  return [...ids];
}

/** Each hypothesis type, re-derived: (spec, selected requests, journal) → { verdict, why }. */
const CHECKS = {
  success_rate(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const ok = sel.filter((r) => r.outcome === 'success').length;
    return passed(ok / sel.length >= h.atLeast, `${ok}/${sel.length}`);
  },
  latency(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const pool = h.successesOnly ? sel.filter((r) => r.outcome === 'success') : sel;
    if (pool.length === 0) return unsure('no success');
    const value = nearestRank(
      pool.map((r) => (h.metric === 'ttft' ? (r.ttftMs ?? r.latencyMs) : r.latencyMs)),
      Number(h.percentile.slice(1)),
    );
    return passed(value <= h.atMost, `${h.percentile} ${Math.round(value)} ms`);
  },
  cost_per_success(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const spent = sel.reduce((s, r) => s + r.costUsd, 0);
    const ok = sel.filter((r) => r.outcome === 'success').length;
    if (ok === 0) return spent === 0 ? unsure('no success, nothing spent') : passed(false, 'no success');
    return passed(spent / ok <= h.atMostUsd, `$${(spent / ok).toFixed(6)}`);
  },
  wasted_spend(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const wasted = sel.reduce((s, r) => s + r.wastedUsd, 0);
    const spent = sel.reduce((s, r) => s + r.costUsd, 0);
    const share = spent > 0 ? wasted / spent : 0;
    const ok =
      (h.atMostUsd === undefined || wasted <= h.atMostUsd) &&
      (h.atMostShare === undefined || share <= h.atMostShare);
    return passed(ok, `$${wasted.toFixed(6)}`);
  },
  max_attempts_per_request(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const most = Math.max(...sel.map((r) => r.attempts.length));
    return passed(most <= h.atMost, `max ${most}`);
  },
  retry_after_respected(h, sel) {
    let pairs = 0;
    let early = 0;
    for (const r of sel)
      r.attempts.forEach((a, i) => {
        if (waitOf(a) === undefined) return;
        const next = r.attempts.slice(i + 1).find((b) => b.deployment === a.deployment && !b.hedge);
        if (!next) return;
        pairs++;
        if (a.endMs + waitOf(a) - next.startMs > h.toleranceMs) early++;
      });
    return pairs === 0
      ? unsure('no retry after a Retry-After')
      : passed(early === 0, `${early} of ${pairs} early`);
  },
  retry_after_respected_across_requests(h, sel) {
    const throttles = [];
    for (const r of sel)
      r.attempts.forEach((a, index) => {
        if (waitOf(a) !== undefined && (!h.deployment || a.deployment === h.deployment))
          throttles.push({ d: a.deployment, at: a.endMs, until: a.endMs + waitOf(a), request: r.id, index });
      });
    if (throttles.length === 0) return unsure('no Retry-After');
    let checked = 0;
    let early = 0;
    for (const r of sel)
      r.attempts.forEach((b, index) => {
        const mine = throttles.filter((t) => t.d === b.deployment);
        if (mine.length === 0 || b.startMs < Math.min(...mine.map((t) => t.at))) return;
        checked++;
        // Another request's answer counts from strictly after it; this request's own, even at the same instant.
        const seen = mine.filter((t) => (t.request === r.id ? t.index < index : t.at < b.startMs));
        if (seen.some((t) => t.until - b.startMs > h.toleranceMs)) early++;
      });
    return passed(early === 0, `${early} of ${checked} attempts early`);
  },
  non_retryable_not_retried(h, sel) {
    const kinds = new Set(h.kinds ?? NOT_RETRYABLE);
    const failures = sel
      .flatMap((r) => r.attempts)
      .filter((a) => a.outcome === 'error' && kinds.has(a.errorKind));
    if (failures.length === 0) return unsure('no such failure');
    const retried = failures.filter((a) => a.next === 'retry').length;
    return passed(retried === 0, `${retried} of ${failures.length} retried`);
  },
  breaker_opens_within(h, sel, journal) {
    const kinds = new Set(h.kinds ?? journal.config.policies.breaker.countKinds ?? BREAKER_COUNTS);
    let longest = 0;
    let opens = 0;
    for (const d of deploymentsSeen(journal, sel, h.deployment)) {
      const events = [];
      for (const r of sel)
        for (const a of r.attempts) {
          if (a.deployment !== d || a.outcome === 'aborted') continue;
          if (a.outcome === 'success') events.push({ at: a.endMs, order: 0, failure: false });
          else if (kinds.has(a.errorKind)) events.push({ at: a.endMs, order: 0, failure: true });
        }
      for (const t of journal.breakerTransitions)
        if (t.deployment === d) {
          events.push({ at: t.atMs, order: 1, to: t.to });
          if (t.to === 'open') opens++;
        }
      events.sort((x, y) => x.at - y.at || x.order - y.order);
      let state = 'closed';
      let streak = 0;
      for (const e of events) {
        if (e.to) [state, streak] = [e.to, 0];
        else if (state === 'closed') streak = e.failure ? streak + 1 : 0;
        longest = Math.max(longest, streak);
      }
    }
    if (longest < h.failures && opens === 0) return unsure('the breaker never had to open');
    return passed(longest <= h.failures, `longest run ${longest}`);
  },
  breaker_recovers_with_single_probe(h, sel, journal) {
    let opened = 0;
    let periods = 0;
    let problems = 0;
    for (const d of deploymentsSeen(journal, sel, h.deployment)) {
      const ts = journal.breakerTransitions.filter((t) => t.deployment === d);
      if (!ts.some((t) => t.to === 'open')) continue;
      opened++;
      ts.forEach((t, i) => {
        if (t.to !== 'half-open') return;
        periods++;
        const until = ts[i + 1]?.atMs ?? Number.POSITIVE_INFINITY;
        const probing = sel.filter((r) =>
          r.attempts.some((a) => a.deployment === d && a.startMs >= t.atMs && a.startMs < until),
        );
        if (probing.length > 1) problems++;
      });
      if (h.mustClose && ts.at(-1).to !== 'closed') problems++;
    }
    if (opened === 0) return unsure('no breaker opened');
    if (problems === 0 && periods === 0) return unsure('never half-open');
    return passed(problems === 0, `${problems} problems over ${periods} half-open periods`);
  },
  breaker_thrash(h, sel, journal) {
    if (journal.faultWindows.length === 0) return unsure('no fault window');
    let total = 0;
    let worst = 0;
    for (const d of deploymentsSeen(journal, sel, h.deployment))
      for (const w of journal.faultWindows) {
        const n = journal.breakerTransitions.filter(
          (t) => t.deployment === d && t.to === 'open' && t.atMs >= w.fromMs && t.atMs < w.toMs + h.grace,
        ).length;
        total += n;
        worst = Math.max(worst, n);
      }
    return total === 0
      ? unsure('no open in a fault window')
      : passed(worst <= h.atMost, `at most ${worst} opens`);
  },
  fallback_path(h, sel) {
    if (sel.length === 0) return unsure('no matching requests');
    const follows = (r) => {
      if (h.path) return r.outcome === 'success' && pathOf(r).join('>') === h.path.join('>');
      if (h.deployment) return r.outcome === 'success' && r.finalDeployment === h.deployment;
      return r.fellBack;
    };
    const share = sel.filter(follows).length / sel.length;
    return passed(share >= h.atLeast, `${(share * 100).toFixed(1)}%`);
  },
  no_duplicated_text(_h, sel) {
    const streams = sel.filter((r) => r.stream && !r.hung);
    if (streams.length === 0) return unsure('no stream');
    let accounted = 0;
    let atRisk = 0;
    let bad = 0;
    for (const r of streams) {
      const got = r.streamedChars ?? 0;
      const risky = (r.outcome === 'error' && got > 0) || r.attempts.length > 1;
      if (r.duplicatedText !== undefined) {
        accounted++;
        atRisk += risky ? 1 : 0;
        bad += r.duplicatedText ? 1 : 0;
        continue;
      }
      if (r.deliveredChars === undefined) continue;
      accounted++;
      atRisk += risky ? 1 : 0;
      const delivering = r.attempts.filter((a) => (a.deliveredChars ?? 0) > 0);
      const same = (chars, hash) => chars === got && (hash === undefined || hash === r.streamedHash);
      const one = delivering[0];
      const ok =
        delivering.length <= 1 &&
        same(r.deliveredChars, r.deliveredHash) &&
        (one ? same(one.deliveredChars, one.deliveredHash) : got === 0);
      if (!ok) bad++;
    }
    if (bad > 0) return passed(false, `${bad} streams duplicated or changed text`);
    if (accounted === 0) return unsure('no delivered-text account');
    return atRisk === 0 ? unsure('no stream at risk') : passed(true, `${atRisk} streams at risk, all clean`);
  },
  budget_never_exceeded(h, sel, journal) {
    const budgets = journal.config.budgets.filter(
      (b) => h.tenant === undefined || b.tenant === h.tenant || b.tenant === '*',
    );
    if (budgets.length === 0) return unsure('no budget');
    let spentAny = false;
    let over = 0;
    for (const b of budgets) {
      const spent = new Map();
      for (const r of sel) {
        const tenant = r.tenant ?? 'default';
        if ((b.tenant !== '*' && tenant !== b.tenant) || (h.tenant !== undefined && tenant !== h.tenant))
          continue;
        for (const a of r.attempts) {
          if (a.costUsd === 0) continue;
          spentAny = true;
          const key = `${tenant} ${new Date((journal.clockOriginMs ?? 0) + a.endMs).toISOString().slice(0, PERIOD_CHARS[b.period])}`;
          spent.set(key, (spent.get(key) ?? 0) + a.costUsd);
        }
      }
      for (const usd of spent.values()) if (usd > b.limitUsd * (1 + 1e-9)) over++;
    }
    return spentAny ? passed(over === 0, `${over} periods over`) : unsure('nothing spent');
  },
  recovery_time(h, _sel, journal, matches) {
    if (journal.faultWindows.length === 0) return unsure('no fault window');
    const end = Math.max(...journal.faultWindows.map((w) => w.toMs));
    const after = journal.requests.filter((r) => r.startMs >= end && matches(r));
    if (after.length === 0) return unsure('nothing after the window');
    const buckets = new Map();
    for (const r of after) {
      const k = Math.floor((r.startMs - end) / h.bucket);
      const b = buckets.get(k) ?? [0, 0];
      buckets.set(k, [b[0] + (r.outcome === 'success' ? 1 : 0), b[1] + 1]);
    }
    const keys = [...buckets.keys()].sort((a, b) => a - b);
    let recovered;
    for (let i = keys.length - 1; i >= 0; i--) {
      const [ok, all] = buckets.get(keys[i]);
      if (ok / all < h.threshold) break;
      recovered = keys[i];
    }
    if (recovered === undefined) return passed(false, 'not recovered');
    return passed(recovered * h.bucket <= h.atMost, `${recovered * h.bucket} ms`);
  },
  retries_spread(h, sel) {
    const starts = [];
    for (const r of sel)
      for (let i = 1; i < r.attempts.length; i++)
        if (r.attempts[i - 1].next === 'retry') starts.push(r.attempts[i].startMs);
    if (starts.length === 0) return unsure('no retry');
    starts.sort((a, b) => a - b);
    let best = 0;
    for (let lo = 0, hi = 0; hi < starts.length; hi++) {
      while (starts[hi] - starts[lo] >= h.window) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return passed(best <= h.atMost, `max ${best} per window`);
  },
  every_fallback_tried(_h, sel, journal) {
    let considered = 0;
    let bad = 0;
    for (const r of sel) {
      if (r.outcome !== 'error' || r.hung || r.timeoutPhase === 'total') continue;
      if (r.stream && (r.streamedChars ?? 0) > 0) continue;
      if (NOT_FALLBACKABLE.has(r.errorKind ?? r.attempts.at(-1)?.errorKind)) continue;
      const route = journal.config.routes.find((x) => x.name === r.route);
      const kinds = new Set(r.attempts.map((a) => a.errorKind));
      const chain = new Set([
        ...chainOf(journal.config, r.route),
        ...(route && kinds.has('context_overflow') ? route.onContextOverflow : []),
        ...(route && kinds.has('content_filtered') ? route.onContentFiltered : []),
      ]);
      if (chain.size < 2) continue;
      considered++;
      const reached = new Set([
        ...r.attempts.map((a) => a.deployment),
        ...r.skipped.map((s) => s.deployment),
      ]);
      if ([...chain].some((d) => !reached.has(d))) bad++;
    }
    return considered === 0
      ? unsure('no failure with a fallback left')
      : passed(bad === 0, `${bad} of ${considered}`);
  },
  no_deadline_death_with_healthy_fallback(_h, sel, journal) {
    const wins = journal.requests.flatMap((r) => r.attempts.filter((a) => a.outcome === 'success'));
    let atRisk = 0;
    let bad = 0;
    for (const r of sel) {
      const chain = chainOf(journal.config, r.route);
      if (r.hung || chain.length < 2) continue;
      const died = r.outcome === 'error' && r.timeoutPhase === 'total';
      if (!died && r.attempts.every((a) => a.outcome === 'success')) continue;
      atRisk++;
      if (!died) continue;
      const reached = new Set([
        ...r.attempts.map((a) => a.deployment),
        ...r.skipped.map((s) => s.deployment),
      ]);
      const healthy = chain.filter(
        (d) =>
          !reached.has(d) &&
          wins.some((a) => a.deployment === d && a.endMs >= r.startMs && a.endMs <= r.endMs),
      );
      if (healthy.length > 0) bad++;
    }
    return atRisk === 0 ? unsure('nobody had to leave a deployment') : passed(bad === 0, `${bad} deaths`);
  },
  no_request_left_hanging(_h, sel, journal) {
    if (journal.requestsSent === undefined) return unsure('requests sent unknown');
    if (sel.length === 0) return unsure('no matching requests');
    const hung = sel.filter((r) => r.hung).length;
    const missing = journal.requestsSent - journal.requests.length;
    return passed(hung === 0 && missing <= 0, `${hung} hung, ${Math.max(0, missing)} missing`);
  },
};

function recheck(journal) {
  const rows = journal.hypotheses.map((h) => {
    const recorded = h.verdict ?? (h.passed ? 'passed' : 'failed');
    const check = CHECKS[h.kind];
    if (!h.spec || !check || h.evaluable === false)
      return {
        id: h.id,
        kind: h.kind,
        recorded,
        rederived: null,
        why: 'not re-derived',
        agrees: true,
        lets: h.passed,
      };
    const { selected, matches } = select(journal, h.spec);
    const { verdict, why } = check(h.spec, selected, journal, matches);
    const allow = h.spec.allowInconclusive;
    const noTraffic =
      selected.length === 0 ||
      (h.kind === 'no_duplicated_text' && !selected.some((r) => r.stream && !r.hung));
    const lets =
      verdict === 'passed' ||
      (verdict === 'inconclusive' && (allow === true || (allow === 'without-traffic' && noTraffic)));
    return {
      id: h.id,
      kind: h.kind,
      recorded,
      rederived: verdict,
      why,
      agrees: verdict === recorded && lets === h.passed,
      lets,
    };
  });
  const runVerdict =
    journal.status !== 'complete' ? 'incomplete' : rows.every((r) => r.lets) ? 'passed' : 'failed';
  return { scenario: journal.scenario.name, rows, runVerdict, runAgrees: runVerdict === journal.verdict };
}

const args = process.argv.slice(2);
const json = args.includes('--json');
const files = args.filter((a) => a !== '--json');
if (files.length === 0) {
  console.error('usage: node tools/recheck-journal.mjs <journal.json…> [--json]');
  process.exit(2);
}
let results;
try {
  results = files.map((file) => ({ file, ...recheck(JSON.parse(readFileSync(file, 'utf8'))) }));
} catch (error) {
  console.error(`cannot re-check: ${error.message}`);
  process.exit(2);
}
const agrees = results.every((r) => r.runAgrees && r.rows.every((row) => row.agrees));
if (json) console.log(JSON.stringify({ agrees, results }, null, 2));
else
  for (const r of results) {
    console.log(`${r.runAgrees ? '✓' : '✗'} ${r.scenario}: run ${r.runVerdict} (${r.file})`);
    for (const row of r.rows)
      console.log(
        `  ${row.agrees ? '✓' : '✗ DISAGREES'} ${row.id} [${row.kind}] journal ${row.recorded}, re-derived ${row.rederived ?? '—'} (${row.why})`,
      );
  }
process.exit(agrees ? 0 : 1);
