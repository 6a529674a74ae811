import type { LoadedConfig } from './load.js';

/**
 * The environment an app container gets, for the web role and for one-off migration containers
 * alike: env.clear, the env.secret values, and the STAGECRAFT_* facts of this deploy.
 */
export function appEnvironment(loaded: LoadedConfig, version?: string): Record<string, string> {
  return {
    ...loaded.config.env.clear,
    ...loaded.secretEnv,
    STAGECRAFT_SERVICE: loaded.config.service,
    STAGECRAFT_ENV: loaded.environment,
    ...(version ? { STAGECRAFT_VERSION: version } : {}),
  };
}
