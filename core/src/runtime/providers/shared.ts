import type { DeploymentConfig } from '../config/schema.ts';
import type { ChatRequest } from '../types.ts';
import type { AdapterOptions } from './adapter.ts';

/**
 * The router owns deadlines (headers, first token, idle, attempt) and aborts through the attempt signal, so
 * the SDK's own timeout is only a backstop against a router bug: 10 minutes, the SDKs' default.
 */
export const SDK_TIMEOUT_MS = 600_000;

/** AdapterOptions plus knobs that only tests and the simulator need. */
export interface ProviderClientOptions extends AdapterOptions {
  /** Overrides SDK_TIMEOUT_MS (lets a test provoke the SDK's own headers timeout). */
  sdkTimeoutMs?: number;
}

/** The request's limit, capped by the deployment's; undefined when neither sets one. */
export function effectiveMaxTokens(
  request: Pick<ChatRequest, 'maxOutputTokens'>,
  deployment: Pick<DeploymentConfig, 'maxOutputTokens'>,
): number | undefined {
  const fromRequest = request.maxOutputTokens;
  const cap = deployment.maxOutputTokens;
  if (fromRequest === undefined) return cap;
  return cap === undefined ? fromRequest : Math.min(fromRequest, cap);
}
