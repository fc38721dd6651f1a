import { loadSdkVersions } from '../../lazy.ts';

let cached: Record<string, string> | undefined;

/**
 * The versions of the official SDKs the adapters are built on, as run journals record them. Read
 * when asked (a journal's header), not at import: importing the runtime loads no SDK (lazy.ts).
 */
export function sdkVersions(): Record<string, string> {
  cached ??= loadSdkVersions();
  return cached;
}
