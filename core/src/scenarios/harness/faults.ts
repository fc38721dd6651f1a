/**
 * The scenario's simulated providers and fault timeline: its simulator (with the scenario's latency
 * overrides), its chaos engine (its faults as rules, seeded from the run's seed), and the windows in
 * which each fault can fire, as the journal and the hypotheses' phases read them.
 */
import { type Chaos, type ChaosOptions, createChaos, type Upstream } from '../../faults/chaos/engine.ts';
import { deriveSeed } from '../../faults/chaos/prng.ts';
import { faultRuleId, toFaultRule } from '../../faults/chaos/rule-format.ts';
import type { LatencyProfile } from '../../faults/simulator/latency.ts';
import { defaultCatalogue } from '../../faults/simulator/models.ts';
import { createSimulator, type Simulator } from '../../faults/simulator/simulator.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { FaultCounters, FaultWindow } from '../journal.ts';
import type { FaultSpec, Scenario } from '../schema.ts';

/** The scenario's simulator on the run's clock. */
export function scenarioSimulator(scenario: Scenario, seed: number, clock: Clock): Simulator {
  return createSimulator({
    clock,
    seed: scenario.simulator?.seed ?? deriveSeed(seed, 'simulator'),
    ...latencyOverrides(scenario),
  });
}

/** The scenario's faults in front of `upstream` (the simulator, or a real provider), on the run's clock. */
export function scenarioChaos(
  scenario: Scenario,
  seed: number,
  clock: Clock,
  upstream: Upstream,
  hooks: Pick<ChaosOptions, 'onInject' | 'onResponse'> = {},
): Chaos {
  return createChaos({
    clock,
    seed: deriveSeed(seed, 'chaos'),
    rules: scenario.faults.map(toFaultRule),
    upstream,
    ...hooks,
  });
}

/** The chaos engine's counters as the journal keeps them. */
export function faultCountersOf(chaos: Chaos): FaultCounters {
  const counters = chaos.counters();
  return {
    requestsSeen: counters.requests.total,
    injected: counters.injected.byFault,
    byTarget: counters.injected.byTarget,
  };
}

export function latencyOverrides(scenario: Scenario): { latency?: Partial<Record<string, LatencyProfile>> } {
  const overrides = scenario.simulator?.latency;
  if (!overrides) return {};
  const catalogue = defaultCatalogue();
  const latency: Partial<Record<string, LatencyProfile>> = {};
  for (const [model, override] of Object.entries(overrides)) {
    // Unset fields keep the model's own profile ('*' starts from a middling default).
    const baseProfile: LatencyProfile = catalogue[model]?.latency ?? {
      ttftMedianMs: 500,
      ttftSigma: 0.35,
      tokensPerSecond: 80,
      tokensPerSecondSd: 15,
    };
    latency[model] = { ...baseProfile, ...stripUndefined(override) };
  }
  return { latency };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describeTarget(fault: FaultSpec): string {
  const list = (v: string | string[] | undefined) => (v === undefined ? '*' : [v].flat().join('|'));
  const target = fault.target;
  if (!target) return '*';
  let out = `${list(target.provider)}/${list(target.model)}`;
  if (target.stream !== undefined) out += target.stream ? ' (stream)' : ' (non-stream)';
  return out;
}

/** The windows of every fault of the scenario, for a run that lasted `runEndMs`. */
export function faultWindowsOf(scenario: Scenario, runEndMs: number): FaultWindow[] {
  return scenario.faults.flatMap((fault, i) => toFaultWindows(fault, i, runEndMs));
}

/**
 * When a fault can fire, relative to the run's start (a ramp that ends at rate 0 ends there): one
 * window, or one per `down` period of a repeating schedule.
 */
export function toFaultWindows(fault: FaultSpec, index: number, runEndMs: number): FaultWindow[] {
  if (!fault.enabled) return [];
  const rampFrom = fault.ramp && fault.ramp.fromRate === 0 ? fault.ramp.from : 0;
  const rampTo = fault.ramp && fault.ramp.toRate === 0 ? fault.ramp.to : Number.POSITIVE_INFINITY;
  const fromMs = Math.max(fault.from ?? 0, rampFrom);
  const toMs = Math.min(fault.to ?? Number.POSITIVE_INFINITY, rampTo, Math.max(runEndMs, fromMs));
  const window = (from: number, to: number): FaultWindow => ({
    ruleId: faultRuleId(fault, index),
    fault: fault.fault,
    target: describeTarget(fault),
    fromMs: from,
    toMs: to,
  });
  if (!fault.repeat) return [window(fromMs, toMs)];
  const windows: FaultWindow[] = [];
  const period = fault.repeat.down + fault.repeat.up;
  // The schedule counts from `from` (the plan's cycle does too), whatever a ramp clips off.
  for (let start = fault.from ?? 0; start < toMs; start += period) {
    const from = Math.max(start, fromMs);
    const to = Math.min(start + fault.repeat.down, toMs);
    if (to > from) windows.push(window(from, to));
  }
  return windows;
}
