/** Every migration engine by its config name. */
import { MIGRATION_ENGINES } from '../config/index.js';
import type { MigrationEngine as EngineName } from '../config/index.js';
import { UserError } from '../errors.js';
import { commandEngine } from './engines/command.js';
import { drizzleEngine } from './engines/drizzle.js';
import { golangMigrateEngine } from './engines/golang-migrate.js';
import { knexEngine } from './engines/knex.js';
import { nodePgMigrateEngine } from './engines/node-pg-migrate.js';
import { prismaEngine } from './engines/prisma.js';
import { rawEngine } from './engines/raw.js';
import { sqitchEngine } from './engines/sqitch.js';
import type { MigrationEngine } from './types.js';

const ENGINES: Readonly<Record<EngineName, MigrationEngine>> = {
  raw: rawEngine,
  knex: knexEngine,
  prisma: prismaEngine,
  drizzle: drizzleEngine,
  'golang-migrate': golangMigrateEngine,
  sqitch: sqitchEngine,
  'node-pg-migrate': nodePgMigrateEngine,
  command: commandEngine,
};

/** The engine named in config; an unknown name is a user error listing the known ones. */
export function engineFor(name: string): MigrationEngine {
  const engine = (ENGINES as Record<string, MigrationEngine | undefined>)[name];
  if (!engine) throw new UserError(`unknown migration engine "${name}" (known engines: ${MIGRATION_ENGINES.join(', ')})`);
  return engine;
}
