/**
 * The gateway: the router served over HTTP (OpenAI- and Anthropic-compatible), with tenancy,
 * Prometheus metrics, JSON request logs and OpenTelemetry traces. It imports the runtime; the
 * runtime never imports it.
 */
export {
  type GatewayConfig,
  type GatewaySettings,
  type GatewaySettingsInput,
  loadGatewayConfig,
  parseGatewayConfig,
  type VirtualKeyConfig,
} from './config.ts';
export { GatewayError, STATUS_OF_KIND } from './errors.ts';
export {
  type Gateway,
  type GatewayOptions,
  HEADER,
  isLoopbackHost,
  isLoopbackPeer,
  startGateway,
} from './server.ts';
export { startTracing, type Tracing, tracingRequested } from './telemetry.ts';
export { sha256Hex } from './tenancy.ts';
