import path from 'node:path';

const RELEASES_FILE_ENV = 'STAGECRAFT_RELEASES_FILE';

/**
 * Where the release store lives: `$STAGECRAFT_RELEASES_FILE` when set, else
 * `.stagecraft/releases.json` next to the config file (which need not exist or be valid).
 */
export function releasesFilePath(configPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[RELEASES_FILE_ENV];
  if (override !== undefined && override.trim() !== '') return path.resolve(override);
  const configFile = path.resolve(configPath ?? 'stagecraft.yml');
  return path.join(path.dirname(configFile), '.stagecraft', 'releases.json');
}
