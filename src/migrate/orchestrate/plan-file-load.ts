/** Reads `orchestration.plan` (set in stagecraft.yml, relative to it) and what `migrate validate` knows of its databases. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../../config/index.js';
import { UserError } from '../../errors.js';
import { migrationsDir, readMigrationFiles } from '../raw/files.js';
import { parsePlanFile } from './plan-file.js';
import type { KnownDatabase } from './plan-file.js';
import { knownDatabase } from './plan-file-run.js';
import type { LoadedPlanFile } from './plan-file-run.js';

/** The plan file, or undefined when stagecraft.yml sets none. */
export async function readPlanFile(loaded: LoadedConfig): Promise<LoadedPlanFile | undefined> {
  const configured = loaded.config.orchestration?.plan;
  if (configured === undefined) return undefined;
  const file = path.join(path.dirname(loaded.file), configured);
  let text: string;
  try {
    text = await readFile(path.resolve(loaded.dir, configured), 'utf8');
  } catch (error) {
    throw new UserError(`${file}: cannot read the plan file (orchestration.plan): ${(error as Error).message}`);
  }
  return { file, ...parsePlanFile(text) };
}

/** `databases.X.targets`' names (none: the database is its own one target). */
export function targetNames(loaded: LoadedConfig, database: string): string[] {
  const targets = (loaded.config.databases[database] as { targets?: Readonly<Record<string, unknown>> } | undefined)?.targets;
  return targets ? Object.keys(targets) : [];
}

/**
 * What the files say of each raw database (ids in apply order, declared dependencies), offline.
 * Tool engines' migrations are read from their image and database, and raw files with problems of
 * their own (validate reports those) give nothing to check against: both are `unchecked`, with why.
 */
export async function knownRawDatabases(loaded: LoadedConfig, databases: readonly string[]): Promise<{ known: Map<string, KnownDatabase>; unchecked: Map<string, string> }> {
  const known = new Map<string, KnownDatabase>();
  const unchecked = new Map<string, string>();
  for (const database of databases) {
    const settings = loaded.config.databases[database]!.migrations;
    if (settings.engine !== 'raw') {
      unchecked.set(database, `engine ${settings.engine}: its migrations are read from the app image; \`migrate plan\` and \`migrate run\` check its entries`);
      continue;
    }
    const { dir, display } = migrationsDir(loaded.dir, settings.path ?? '.');
    try {
      known.set(database, knownDatabase(targetNames(loaded, database), await readMigrationFiles(dir, display, { environment: loaded.environment })));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      unchecked.set(database, 'its migration files have problems (above)');
    }
  }
  return { known, unchecked };
}
