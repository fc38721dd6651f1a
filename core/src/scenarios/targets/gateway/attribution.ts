/**
 * Tying a gateway's upstream calls to the requests they were made for, and a request's record from
 * the caller's view plus its calls: the attempts, seen from the provider side.
 */
import type { RouterConfig } from '../../../runtime/config/schema.ts';
import type { ErrorKind } from '../../../runtime/errors.ts';
import { type Provider, wireProviderOf } from '../../../runtime/types.ts';
import type { AgainstSummary, AttemptSummary, RequestRecord } from '../../journal.ts';
import type { GeneratedRequest } from '../../load-gen.ts';
import type { UpstreamCall } from './upstream-log.ts';

/** One request sent to the gateway, seen from the caller's side. Times are clock ms. */
export interface ClientCall {
  id: string;
  generated: GeneratedRequest;
  route: string;
  /** The last user message: what an upstream call for this request will contain. */
  prompt: string;
  startAt: number;
  endAt?: number;
  firstTextAt?: number;
  text: string;
  outcome?: 'success' | 'error';
  errorKind?: ErrorKind;
}

/** How the upstream calls of a run were tied to its requests (see attribute()). */
export type Attribution = Pick<AgainstSummary, 'unattributed' | 'ambiguous'> & AgainstSummary['attributed'];

/**
 * Which request each upstream call was made for. In order of trust:
 *  1. the x-switchyard-request-id header, if the gateway forwarded it;
 *  2. the prompt: among the requests in flight when the call started, the one whose last user message
 *     the call's body contains (it survives translation to Anthropic's or Ollama's format);
 *  3. time alone, when the body carries no known prompt and exactly one request was in flight.
 * A call that fits none, or several requests with the same prompt, stays unattributed and is counted.
 */
export function attribute(calls: UpstreamCall[], clients: ClientCall[]): Attribution {
  const byId = new Map(clients.map((c) => [c.id, c]));
  const counts: Attribution = { header: 0, prompt: 0, time: 0, unattributed: 0, ambiguous: 0 };
  for (const call of calls) {
    if (!call.generation) continue;
    if (call.headerId && byId.has(call.headerId)) {
      call.attributedTo = call.headerId;
      counts.header++;
      continue;
    }
    const inFlight = clients.filter(
      (c) => c.startAt <= call.startAt && call.startAt <= (c.endAt ?? Number.POSITIVE_INFINITY),
    );
    const byPrompt = inFlight.filter((c) => c.prompt.length > 0 && call.bodyText.includes(c.prompt));
    if (byPrompt.length === 1) {
      call.attributedTo = byPrompt[0]!.id;
      counts.prompt++;
    } else if (byPrompt.length === 0 && inFlight.length === 1) {
      call.attributedTo = inFlight[0]!.id;
      counts.time++;
    } else {
      counts.unattributed++;
      if (byPrompt.length > 1) counts.ambiguous++;
    }
  }
  return counts;
}

/** The scenario's deployment a provider call corresponds to (same provider and model), else provider:model. */
function deploymentOf(
  config: RouterConfig,
  provider: Provider | undefined,
  model: string | undefined,
): string {
  const match = config.deployments.find((d) => wireProviderOf(d.provider) === provider && d.model === model);
  return match?.id ?? `${provider ?? 'unknown'}:${model ?? '?'}`;
}

function toAttempts(
  calls: UpstreamCall[],
  config: RouterConfig,
  t0: number,
  endAt: number,
): AttemptSummary[] {
  const sorted = [...calls].sort((a, b) => a.startAt - b.startAt || a.seq - b.seq);
  const attempts = sorted.map((call): AttemptSummary => {
    const attempt: AttemptSummary = {
      deployment: deploymentOf(config, call.provider, call.model),
      startMs: call.startAt - t0,
      endMs: (call.endAt ?? endAt) - t0,
      outcome: call.outcome ?? 'aborted',
      costUsd: 0,
    };
    if (call.errorKind) attempt.errorKind = call.errorKind;
    if (call.status !== undefined) attempt.status = call.status;
    return attempt;
  });
  for (let i = 0; i < attempts.length; i++) {
    const attempt = attempts[i]!;
    const next = attempts[i + 1];
    const previous = attempts[i - 1];
    // A call that starts while the one before it still runs was sent in parallel: a hedge.
    if (previous && attempt.startMs < previous.endMs) attempt.hedge = true;
    if (!next) attempt.next = attempt.outcome === 'success' ? 'done' : 'give-up';
    else if (!(next.startMs < attempt.endMs)) {
      // The same deployment asked again with other parameters: the request was rewritten (a refused
      // parameter dropped or renamed), not retried as it was.
      const rewritten = sorted[i + 1]!.params !== sorted[i]!.params;
      attempt.next =
        next.deployment !== attempt.deployment ? 'fallback' : rewritten ? 'rewrite-and-retry' : 'retry';
      attempt.delayBeforeNextMs = next.startMs - attempt.endMs;
    }
    // The wait this call's answer asked for, as the proxy sent it.
    const retryAfterMs = sorted[i]!.retryAfterMs;
    if (retryAfterMs !== undefined) attempt.retryAfterSentMs = retryAfterMs;
  }
  return attempts;
}

/**
 * A request's record from outside: the caller's view (outcome, latency, text) and its upstream calls
 * as attempts. A hung request (sent, never ended) is a failure at the run's end. Costs are not known
 * outside the gateway: they stay 0 and the reports say so.
 */
export function gatewayRecord(
  client: ClientCall,
  calls: UpstreamCall[],
  config: RouterConfig,
  t0: number,
  endAt: number,
  hung: boolean,
): RequestRecord {
  const end = hung ? endAt : (client.endAt ?? endAt);
  const attempts = toAttempts(calls, config, t0, endAt);
  const successes = attempts.filter((a) => a.outcome === 'success');
  const outcome = hung ? 'error' : (client.outcome ?? 'error');
  const final = outcome === 'success' ? successes.at(-1)?.deployment : undefined;
  const record: RequestRecord = {
    id: client.id,
    startMs: client.startAt - t0,
    endMs: end - t0,
    latencyMs: end - client.startAt,
    stream: client.generated.stream,
    tags: [...(client.generated.request.tags ?? [])],
    route: client.route,
    outcome,
    fellBack: final !== undefined && attempts.length > 0 && attempts[0]!.deployment !== final,
    cache: 'off',
    costUsd: 0,
    wastedUsd: 0,
    attempts,
    skipped: [],
  };
  if (hung) record.hung = true;
  if (final) record.finalDeployment = final;
  if (client.generated.request.tenant) record.tenant = client.generated.request.tenant;
  if (outcome !== 'success' && !hung) record.errorKind = client.errorKind ?? 'server_error';
  if (client.generated.stream) {
    if (client.firstTextAt !== undefined) record.ttftMs = client.firstTextAt - client.startAt;
    record.streamedChars = client.text.length;
    // No single upstream answer is longer than itself: text beyond the longest one was sent twice.
    const longest = Math.max(0, ...calls.map((c) => c.text.length));
    if (calls.length > 0) record.duplicatedText = client.text.length > longest;
  }
  return record;
}
