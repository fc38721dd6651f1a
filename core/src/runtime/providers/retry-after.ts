type HeaderSource = Headers | Record<string, string | null | undefined> | null | undefined;

function getHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | null | undefined>;
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) return record[key] ?? undefined;
  }
  return undefined;
}

/**
 * How long the provider asked us to wait, in ms: `retry-after-ms` (OpenAI, milliseconds) first, then
 * `retry-after` as delta-seconds (fractions allowed) or an HTTP date. Unparseable values are ignored; a date
 * in the past means "now" (0).
 */
export function parseRetryAfterMs(headers: HeaderSource, nowMs: number = Date.now()): number | undefined {
  const ms = getHeader(headers, 'retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));

  const value = getHeader(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Only try a date when it looks like one: Date.parse accepts odd strings such as '-5' or '1'.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** OpenAI rate-limit messages say "Please try again in 174ms." / "in 6.2s" / "in 1m30s"; used when no header came. */
export function parseRetryHintFromMessage(message: string): number | undefined {
  const match = /try again in ((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)/i.exec(message);
  if (!match?.[1]) return undefined;
  let total = 0;
  for (const part of match[1].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gi)) {
    const n = Number(part[1]);
    const unit = part[2]?.toLowerCase();
    total += unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return Math.round(total);
}
