/** "Did you mean …?": the known names closest to a mistyped one (Levenshtein distance). Pure. */
import { distance } from 'fastest-levenshtein';

/** The closest candidates to a mistyped name: within a third of its length in edits, at most `n`. */
export function closestNames(value: string, candidates: Iterable<string>, n = 3): string[] {
  const wanted = value.toLowerCase();
  const limit = Math.max(2, Math.ceil(wanted.length / 3));
  return [...new Set(candidates)]
    .map((name) => ({ name, d: distance(wanted, name.toLowerCase()) }))
    .filter((c) => c.d <= limit && c.d > 0)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, n)
    .map((c) => c.name);
}

export function didYouMean(suggestions: readonly string[]): string {
  return suggestions.length > 0 ? ` — did you mean ${suggestions.join(', ')}?` : '';
}
