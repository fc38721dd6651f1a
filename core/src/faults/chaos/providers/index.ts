/** The providers the fault catalogue can render, by name: adding one is adding its dialect file here. */
import { PROVIDERS, type Provider } from '../../../runtime/types.ts';
import type { ProviderDialect } from '../dialect.ts';
import { anthropic } from './anthropic.ts';
import { ollama } from './ollama.ts';
import { openai } from './openai.ts';

export const DIALECTS: Readonly<Record<Provider, ProviderDialect>> = { openai, anthropic, ollama };

/** The providers whose dialect can say something (e.g. has a quota error): a fault's `providers`. */
export function providersWhere(can: (dialect: ProviderDialect) => boolean): readonly Provider[] {
  return PROVIDERS.filter((provider) => can(DIALECTS[provider]));
}

/** True for the frame that marks a complete stream: [DONE] (response.completed…), message_stop, or done:true. */
export function isTerminalFrame(provider: Provider, frame: string): boolean {
  return DIALECTS[provider].isTerminalFrame(frame);
}
