/** One problem in a config (or scenario) file, located for an editor: 1-based line and column. */
export interface ConfigIssue {
  file: string;
  /** 1-based; 0 when the problem is not at a place in the file (e.g. it could not be read). */
  line: number;
  column: number;
  /** Readable path of the offending value, e.g. `routes[0].deployments[1]`; '' for the document itself. */
  field: string;
  message: string;
}

/** `file:line:column field: message`, leaving out what the issue does not have. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.field ? `${where} ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Longest message or field an issue keeps: a 50 MB value must not come back whole in an error. */
export const MAX_ISSUE_TEXT = 240;

/** `text` cut in the middle when it is too long, saying how much was left out. */
export function cutText(text: string, max = MAX_ISSUE_TEXT): string {
  if (text.length <= max) return text;
  const keep = Math.floor((max - 40) / 2);
  const left = text.length - 2 * keep;
  return `${text.slice(0, keep)}…[${left.toLocaleString('en-US')} characters]…${text.slice(-keep)}`;
}

/** Every problem found in a file, reported at once so that one edit-run cycle fixes them all. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(given: readonly ConfigIssue[], options?: { cause?: unknown }) {
    // Messages and fields echo values from the file: cut here, once for every kind of issue.
    const issues = given.map((issue) => ({
      ...issue,
      field: cutText(issue.field),
      message: cutText(issue.message),
    }));
    const file = issues[0]?.file ?? 'config';
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      `Invalid config ${file} (${count}):\n${issues.map((i) => `  ${formatConfigIssue(i)}`).join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
