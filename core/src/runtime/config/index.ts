export { ConfigError, type ConfigIssue, formatConfigIssue } from './errors.ts';
export {
  type ApiKeySources,
  type Locate,
  loadRouterConfig,
  parseRouterConfig,
  parseYamlWithSchema,
  type RouterConfigOptions,
  resolveApiKey,
  unsetKeyIssues,
  unsetKeyVariables,
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
