/**
 * What a prompt file asks for that cannot run as written: model ids nothing resolves, models the
 * provider's catalogue does not have, mistyped fault ids. Each problem sits on the exact value, with
 * the closest known names as suggestions (the quick fixes). No vscode: unit-tested under plain Node.
 */
import { closestNames, didYouMean } from '../shared/names.ts';
import type { PromptFile, ValueRef } from '../shared/promptFile.ts';
import type { CatalogueEntry, ProviderName } from '../shared/protocol.ts';
import { type CompareSettings, resolveModel, unknownModelProblem } from './engine.ts';

export type CheckCode = 'unknown-model' | 'model-not-in-catalogue' | 'unknown-fault';

export interface PromptCheck extends ValueRef {
  code: CheckCode;
  severity: 'error' | 'warning';
  message: string;
  /** Replacements for `value`, best first. */
  suggestions: string[];
}

export interface KnownNames {
  settings: Pick<CompareSettings, 'models'>;
  /** The providers' catalogues (live lists, or the simulator's); empty while not loaded yet. */
  catalogue: readonly CatalogueEntry[];
  faultIds: readonly string[];
}

/** `x` and `x:latest` are one Ollama model. */
function sameModel(provider: ProviderName, a: string, b: string): boolean {
  if (a === b) return true;
  return provider === 'ollama' && (`${a}:latest` === b || a === `${b}:latest`);
}

/** Every id a prompt file may name: the settings' models, then the catalogue's. */
export function knownModelIds(known: Pick<KnownNames, 'settings' | 'catalogue'>): string[] {
  return [...new Set([...known.settings.models.map((m) => m.id), ...known.catalogue.map((e) => e.id)])];
}

/** Replacements a quick fix offers for a flagged value (the same a check computed when it flagged it). */
export function suggestionsFor(code: CheckCode, value: string, known: KnownNames): string[] {
  if (code === 'unknown-fault') return closestNames(value, known.faultIds);
  if (code === 'unknown-model') {
    // `gpt-4.1` is most likely `openai/gpt-4.1`: compare with the model part of each id too.
    const ids = knownModelIds(known);
    const byModel = ids.filter((id) => id.slice(id.indexOf('/') + 1) === value);
    return [...new Set([...byModel, ...closestNames(value, ids)])].slice(0, 3);
  }
  const model = resolveModel(value, known.settings);
  return closestNames(
    value,
    known.catalogue.filter((e) => e.provider === model?.provider).map((e) => e.id),
  );
}

export function checkPromptFile(file: PromptFile, known: KnownNames): PromptCheck[] {
  const checks: PromptCheck[] = [];
  for (const ref of file.refs.models) {
    const model = resolveModel(ref.value, known.settings);
    if (!model) {
      const suggestions = suggestionsFor('unknown-model', ref.value, known);
      checks.push({
        ...ref,
        code: 'unknown-model',
        severity: 'error',
        message: `${unknownModelProblem(ref.value)}${didYouMean(suggestions)}`,
        suggestions,
      });
      continue;
    }
    if (known.settings.models.some((m) => m.id === ref.value)) continue;
    const listed = known.catalogue.filter((e) => e.provider === model.provider);
    if (listed.length === 0 || listed.some((e) => sameModel(model.provider, e.model, model.model))) continue;
    const source =
      listed[0]!.source === 'live' ? `${model.provider}'s model list` : "the simulator's catalogue";
    const suggestions = suggestionsFor('model-not-in-catalogue', ref.value, known);
    checks.push({
      ...ref,
      code: 'model-not-in-catalogue',
      severity: 'warning',
      message: `"${model.model}" is not in ${source}: its column will fail${didYouMean(suggestions)}`,
      suggestions,
    });
  }
  const fault = file.refs.fault;
  if (fault && !known.faultIds.includes(fault.value)) {
    const suggestions = suggestionsFor('unknown-fault', fault.value, known);
    checks.push({
      ...fault,
      code: 'unknown-fault',
      severity: 'error',
      message: `chaos.fault: unknown fault "${fault.value}"${didYouMean(suggestions)}`,
      suggestions,
    });
  }
  return checks;
}

/** How many columns a prompt file's compare runs, and how many of its ids are left out as unknown. */
export function columnCount(
  file: PromptFile,
  settings: Pick<CompareSettings, 'models'>,
): { columns: number; unknown: number } {
  const ids = file.meta.models ?? settings.models.map((m) => m.id);
  const resolved = new Set(ids.filter((id) => resolveModel(id, settings)));
  return { columns: resolved.size, unknown: ids.filter((id) => !resolveModel(id, settings)).length };
}
