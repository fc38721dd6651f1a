/**
 * Size limits for config and scenario files, in a module of their own: the CLI names the default in
 * its help text, and `switchyard --help` must not load the YAML parser and zod to print it.
 */

/** Largest config or scenario file read by default: far above any real one, far below a parser's trouble. */
export const DEFAULT_MAX_YAML_BYTES = 1024 * 1024;

export interface YamlLimits {
  /** Files larger than this are refused before parsing (default DEFAULT_MAX_YAML_BYTES). */
  maxBytes?: number;
}
