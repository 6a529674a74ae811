export { loadConfig } from './load.js';
export { appEnvironment } from './app-env.js';
export type { LoadConfigOptions, LoadedConfig } from './load.js';
export { ConfigError, formatProblem } from './errors.js';
export type { ConfigProblem } from './errors.js';
export { redact, redactText, REDACTED } from './redact.js';
export { parseDuration, isDuration } from './duration.js';
export { configJsonSchema } from './json-schema.js';
export { LOCAL_ADDRESS, PRIMARY_ROLE, WEB_ROLE, MIGRATION_ENGINES, MIGRATION_STRATEGIES, ROLLOUT_STRATEGIES, appRolesOf } from './schema.js';
export type {
  ResolvedConfig,
  HostConfig,
  DatabaseConfig,
  MigrationsConfig,
  BackupConfig,
  BackupWhen,
  MigrationEngine,
  MigrationStrategy,
  RolloutConfig,
  RolloutStrategy,
  RoleConfig,
} from './schema.js';
