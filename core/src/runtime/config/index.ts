export { ConfigError, type ConfigIssue, formatConfigIssue } from './errors.ts';
export {
  type ApiKeySources,
  loadRouterConfig,
  parseRouterConfig,
  parseYamlWithSchema,
  type RouterConfigLoadOptions,
  resolveApiKey,
} from './load.ts';
export {
  formatFieldPath,
  type LocateOptions,
  locateYamlPath,
  type YamlLocation,
  type YamlPath,
  yamlErrorIssues,
  zodIssuesToConfigIssues,
} from './locate.ts';
