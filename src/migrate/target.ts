/** Builds the engine targets of an environment's databases for the migrate commands. */
import type { LoadedConfig } from '../config/index.js';
import { appEnvironment } from '../config/index.js';
import type { RegistryAuth } from '../remote/docker-ops.js';
import type { Host } from '../remote/host.js';
import type { EngineTarget } from './types.js';
import { imagesStayLocal } from '../plan/plan-deploy.js';

export { targetKey } from './types.js';

export interface TargetOptions {
  loaded: LoadedConfig;
  actor: string;
  host: () => Promise<Host>;
  image: EngineTarget['image'];
  /** Names one-off apply containers per database. */
  containerName: (database: string) => string;
  log: (database: string, line: string) => void;
  scrub: (text: string) => string;
  /** STAGECRAFT_VERSION for the tool's container (the image's version, when known). */
  version?: string | undefined;
}

export function registryAuthOf(loaded: LoadedConfig): RegistryAuth | undefined {
  const registry = loaded.config.registry;
  if (!registry?.username || registry.password === undefined) return undefined;
  return { username: registry.username, password: registry.password, serveraddress: registry.server };
}

/**
 * One EngineTarget per database, or per target of a database with `targets` (in config order):
 * `database` stays the config key, `target` names the target and `key` is `main/tenant_a`.
 */
export function engineTargets(options: TargetOptions, databases: readonly string[]): EngineTarget[] {
  const { loaded } = options;
  const config = loaded.config;
  const appEnv = appEnvironment(loaded, options.version);
  return databases.flatMap((database) => {
    const spec = config.databases[database];
    if (!spec) throw new Error(`unknown database ${database}`);
    const base = {
      database,
      migrations: spec.migrations,
      configDir: loaded.dir,
      service: config.service,
      environment: loaded.environment,
      actor: options.actor,
      host: options.host,
      image: options.image,
      pullImage: !imagesStayLocal(config),
      registryAuth: registryAuthOf(loaded),
      appEnv,
      settingPosition: loaded.positionOf ? (key: string) => loaded.positionOf!(['databases', database, 'migrations', key]) : undefined,
      scrub: options.scrub,
    };
    const targets = spec.targets === undefined ? [] : Object.entries(spec.targets);
    if (targets.length === 0) {
      return [{ ...base, key: database, url: spec.url, containerName: options.containerName(database), log: (line: string) => options.log(database, options.scrub(line)) }];
    }
    return targets.map(([target, url]) => {
      const key = `${database}/${target}`;
      return { ...base, target, key, url, containerName: options.containerName(`${database}-${target}`), log: (line: string) => options.log(key, options.scrub(line)) };
    });
  });
}
