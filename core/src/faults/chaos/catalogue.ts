/**
 * The fault catalogue: every way a provider fails that Switchyard must survive, each a typed,
 * documented definition that turns a request into an action (a synthetic response, a transport
 * failure, or a change to the upstream's response). Each fault is written once, provider-neutral
 * (definitions/); how each provider words and frames it is its dialect's (providers/, one file per
 * provider, after shared/notes/provider-wire-facts.md). Vocabulary borrows from Polly (fault,
 * outcome, latency), Toxiproxy (reset_peer, slow_close, slicer, timeout) and Envoy (abort, delay).
 */
import { contentFaults } from './definitions/content.ts';
import { errorFaults } from './definitions/errors.ts';
import { streamFaults } from './definitions/streams.ts';
import { timingFaults } from './definitions/timing.ts';
import { FAULT_IDS, type FaultDefinition, type FaultId, type FaultParams, type ParamValue } from './fault.ts';
import { DIALECTS } from './providers/index.ts';
import type { RequestInfo } from './wire.ts';

export * from './fault.ts';
export { isTerminalFrame } from './providers/index.ts';

const definitions = new Map(
  [...errorFaults, ...timingFaults, ...streamFaults, ...contentFaults].map((d) => [d.id, d]),
);

/** Every fault by id, in FAULT_IDS order. */
export const FAULTS: Readonly<Record<FaultId, FaultDefinition>> = Object.fromEntries(
  FAULT_IDS.map((id) => {
    const definition = definitions.get(id);
    if (!definition) throw new Error(`fault ${id} has no definition`);
    return [id, definition];
  }),
) as Record<FaultId, FaultDefinition>;

export function isFaultId(value: unknown): value is FaultId {
  return typeof value === 'string' && (FAULT_IDS as readonly string[]).includes(value);
}

/** Fills defaults and checks types, ranges and choices; throws a plain Error naming the bad parameter. */
export function resolveParams(id: FaultId, given: Record<string, unknown> = {}): FaultParams {
  const definition = FAULTS[id];
  const out: FaultParams = {};
  for (const name of Object.keys(given)) {
    // hasOwn, not `in`: 'toString' or 'constructor' are in every object, through its prototype.
    if (!Object.hasOwn(definition.params, name)) throw new Error(`fault ${id}: unknown parameter '${name}'`);
  }
  const exclusive = (definition.exclusiveParams ?? []).filter((name) => given[name] !== undefined);
  if (exclusive.length > 1)
    throw new Error(`fault ${id}: give one of '${exclusive.join("', '")}', not several`);
  for (const [name, spec] of Object.entries(definition.params)) {
    const value = given[name] ?? spec.default;
    if (typeof value !== spec.type)
      throw new Error(`fault ${id}: parameter '${name}' must be a ${spec.type}`);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`fault ${id}: parameter '${name}' must be finite`);
      if (spec.min !== undefined && value < spec.min)
        throw new Error(`fault ${id}: '${name}' must be >= ${spec.min}`);
      if (spec.max !== undefined && value > spec.max)
        throw new Error(`fault ${id}: '${name}' must be <= ${spec.max}`);
    }
    if (spec.choices && !spec.choices.includes(String(value))) {
      throw new Error(`fault ${id}: '${name}' must be one of ${spec.choices.join(', ')}`);
    }
    out[name] = value as ParamValue;
  }
  return out;
}

/** Whether a fault can hit this request at all (provider, stream or not, endpoint, JSON mode). */
export function faultApplies(definition: FaultDefinition, info: RequestInfo): boolean {
  if (!info.provider || !definition.providers.includes(info.provider)) return false;
  if (definition.endpoints === 'generation' && !info.generation) return false;
  if (definition.stream === 'stream' && !info.stream) return false;
  if (definition.stream === 'non-stream' && info.stream) return false;
  if (definition.requiresJsonMode && !DIALECTS[info.provider].jsonByInstruction && !info.jsonMode)
    return false;
  return true;
}
