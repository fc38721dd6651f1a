/**
 * Keeping credentials out of what errors carry: messages, and the causes a SwitchyardError keeps.
 * Used by errors.ts itself, so every SwitchyardError is scrubbed however it was built.
 */

/** Removes anything that looks like a credential from a message. */
export function redactSecrets(message: string, secrets: readonly (string | undefined)[] = []): string {
  let out = message;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out
    .replace(/\b(sk|rk|pk)-[A-Za-z0-9_\-*.]{6,}/g, '[redacted]')
    .replace(/\b(Bearer|Basic)\s+[^\s"',]+/gi, '$1 [redacted]')
    .replace(/(x-api-key|api[_-]?key)(["']?\s*[:=]\s*["']?)[^\s"',]+/gi, '$1$2[redacted]');
}

/** How far down a cause chain is copied; deeper links are dropped. */
const MAX_CAUSE_DEPTH = 4;

/** Error classes whose constructor takes just a message, so a scrubbed copy keeps its class. */
const PLAIN_ERRORS: ReadonlyArray<new (message?: string, options?: ErrorOptions) => Error> = [
  Error,
  TypeError,
  SyntaxError,
  RangeError,
];

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function messageOf(value: unknown): string {
  const message = record(value)?.message;
  if (typeof message === 'string') return message;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * A copy of `cause` that is safe to keep on an error: its class (or name), its message and stack
 * with credentials redacted, its string `code` and numeric `status`, and its own cause, copied the
 * same way. Nothing else is kept: an SDK error holds the response headers and body (a provider or a
 * proxy can echo the key in them), and util.inspect would print all of it.
 */
export function scrubCause(
  cause: unknown,
  secrets: readonly (string | undefined)[] = [],
  depth = 0,
): Error | undefined {
  if (cause === undefined || depth >= MAX_CAUSE_DEPTH) return undefined;
  const source = record(cause);
  const Class = PLAIN_ERRORS.find((C) => source?.constructor === C) ?? Error;
  const inner = scrubCause(source?.cause, secrets, depth + 1);
  const copy = new Class(redactSecrets(messageOf(cause), secrets), inner ? { cause: inner } : undefined);
  if (cause instanceof Error) {
    if (copy.name !== cause.name)
      Object.defineProperty(copy, 'name', { value: cause.name, enumerable: false });
    if (cause.stack) copy.stack = redactSecrets(cause.stack, secrets);
  }
  const extra = copy as Error & { code?: string; status?: number };
  if (typeof source?.code === 'string') extra.code = source.code;
  if (typeof source?.status === 'number') extra.status = source.status;
  return copy;
}
