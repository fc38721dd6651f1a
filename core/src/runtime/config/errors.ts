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

/** Every problem found in a file, reported at once so that one edit-run cycle fixes them all. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
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
