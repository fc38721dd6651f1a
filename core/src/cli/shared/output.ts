import { styleText } from 'node:util';
import { ConfigError, type ConfigIssue, formatConfigIssue } from '../../runtime/config/errors.ts';

/** Exit codes every command shares. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;

/** An error that ends the command with a message on stderr and a chosen exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, exitCode: number = EXIT.badInput, issues: readonly ConfigIssue[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.issues = issues;
  }
}

type Style = Parameters<typeof styleText>[0];

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** The colour codes paint() writes (bold, dim, red, green, yellow and their resets), and only those. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching our own SGR codes is the point.
const OWN_COLOUR = /\u001b\[(?:1|2|22|31|32|33|39)m/g;
const KEPT = '\u{F0000}';

/**
 * Text from files (scenario and journal names, descriptions, messages) with every control character
 * taken out but newline and tab: an escape sequence in a name could retitle the terminal, clear it,
 * move the cursor over earlier lines (hiding a failure) or plant a link.
 */
export function plain(text: string): string {
  return text.replace(CONTROL, '');
}

/**
 * What reaches the terminal: plain text, except the colour codes paint() added. Applied by out()
 * and err(), so every command's output is covered, whatever it interpolates.
 */
export function terminalSafe(text: string): string {
  if (!text.includes('\u001b')) return plain(text);
  // Our colour codes are set aside behind a placeholder, the rest made plain, then they go back.
  const colours: string[] = [];
  const held = text.replaceAll(KEPT, '').replace(OWN_COLOUR, (code) => {
    colours.push(code);
    return KEPT;
  });
  let i = 0;
  return plain(held).replaceAll(KEPT, () => colours[i++] ?? '');
}

/**
 * Colour for stdout or stderr: styleText checks that stream (TTY, NO_COLOR, FORCE_COLOR), so piped
 * output and CI logs stay plain. The text itself is made plain first.
 */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return styleText(style, plain(text), { stream });
}

export const out = (line = ''): void => {
  process.stdout.write(`${terminalSafe(line)}\n`);
};
export const err = (line = ''): void => {
  process.stderr.write(`${terminalSafe(line)}\n`);
};

/** Prints issues as `file:line:column field: message`, one per line, on stderr. */
export function printIssues(issues: readonly ConfigIssue[]): void {
  for (const issue of issues) err(paint('red', formatConfigIssue(issue), process.stderr));
}

/** The located issues of a ConfigError (ScenarioError included), or a single unlocated one. */
export function issuesOf(error: unknown, file: string): ConfigIssue[] {
  if (error instanceof ConfigError) return [...error.issues];
  const message = error instanceof Error ? error.message : String(error);
  return [{ file, line: 0, column: 0, field: '', message }];
}

/** Visible width of a string: ANSI escapes take no room. */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point.
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const gap = Math.max(0, width - visibleLength(text));
  return align === 'left' ? text + ' '.repeat(gap) : ' '.repeat(gap) + text;
}

/** A plain text table: column widths from the widest cell, numbers right-aligned when asked. */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  align: ReadonlyArray<'left' | 'right'> = [],
): string {
  const widths = header.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!, align[i] ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Milliseconds as a short human duration (simulated or wall). */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  // Round once, so 3m59.6s reads 4m00s, never 3m60s.
  const total = Math.round(ms / 1_000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

export function formatUsd(usd: number): string {
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(4)}`;
}

/** Parses an integer option, or throws a CliError naming the option. */
/** A share from 0 to 1 (e.g. --stream-share 0.5). */
export function shareOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
      throw new CliError(`${name} must be a number from 0 to 1, got "${value}"`);
    return n;
  };
}

export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new CliError(`${name} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}
