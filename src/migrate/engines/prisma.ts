/**
 * prisma: `prisma migrate deploy` applies; `prisma migrate status` reports. The status names only
 * migrations that are not cleanly applied (pending, failed, modified); applied ones are a count.
 */
import type { DatabaseState, MigrationEngine, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import type { ToolRun } from './container-tool.js';
import { PRISMA_BIN as PRISMA, applyCommand } from '../engine-commands.js';
import { describeToolFailure, toolEngine } from './tool-engine.js';
import { outputLines } from './tool-output.js';
import { readPrismaPlan } from './prisma-plan.js';


type Section = 'pending' | 'failed' | 'drifted' | 'not_local';

const HEADERS: [RegExp, Section][] = [
  [/^(?:Following|The) migrations? (?:have|has) not yet been applied:$/, 'pending'],
  [/^Following migrations? (?:have|has) failed:$/, 'failed'],
  [/^The (?:following )?migrations? (?:was|were) modified after (?:it was|they were) applied:$/, 'drifted'],
  [/^The (?:following )?migrations? from the database (?:are|is) not found locally in .+:$/, 'not_local'],
];

const MIGRATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Parses `prisma migrate status` (prisma 4–6 wording). It exits 1 when not up to date, so the text decides. */
export function parsePrismaStatus(run: ToolRun): DatabaseState {
  const lines = outputLines(`${run.stdout}\n${run.stderr}`);
  let total: number | undefined;
  const named: Record<Section, string[]> = { pending: [], failed: [], drifted: [], not_local: [] };
  let section: Section | undefined;
  let upToDate = false;
  for (const line of lines) {
    const text = line.trim();
    const found = /^(\d+) migrations? found in .+$/.exec(text);
    if (found) total = Number(found[1]);
    else if (/^No migrations? found in .+$/.test(text)) total = 0;
    if (text === 'Database schema is up to date!') upToDate = true;
    const header = HEADERS.find(([pattern]) => pattern.test(text));
    if (header) {
      section = header[1];
      continue;
    }
    if (section && MIGRATION_NAME.test(text)) {
      named[section].push(text);
      continue;
    }
    if (text === '' || !MIGRATION_NAME.test(text)) section = undefined;
  }
  if (total === undefined) {
    return unreadable(run.exitCode === 0 ? 'prisma migrate status printed no migration count' : describeToolFailure(run));
  }
  const migrations: MigrationEntry[] = [
    ...named.drifted.map((id): MigrationEntry => ({ id, state: 'drifted', error: 'modified after it was applied' })),
    ...named.failed.map((id): MigrationEntry => ({ id, state: 'failed' })),
    ...named.pending.map((id): MigrationEntry => ({ id, state: 'pending' })),
    ...named.not_local.map((id): MigrationEntry => ({ id, state: 'applied', missing_file: true })),
  ];
  const notes = ['prisma migrate status names only migrations that are not applied; applied ones are counted'];
  if (!upToDate && migrations.length === 0 && run.exitCode !== 0) return unreadable(describeToolFailure(run));
  return {
    readable: true,
    migrations,
    applied_count: Math.max(0, total - named.pending.length - named.failed.length) + named.not_local.length,
    pending_known: true,
    notes,
  };
}

/** `Migration name: 20240102120000_add_users` follows a failed migration in `migrate deploy` output. */
export function prismaFailedMigration(run: ToolRun): string | undefined {
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const match = /^Migration name: (\S+)$/.exec(line.trim());
    if (match) return match[1];
  }
  return undefined;
}

export const PRISMA_NO_ROLLBACK = 'prisma writes no down migrations, so there is nothing to roll back with; write a new migration that reverts the change (prisma migrate dev --create-only) and deploy it';

/**
 * `plan` and the status around a run never start prisma: they read `_prisma_migrations` and the
 * image's migration directories (prisma-plan.ts), unless `plan_command` names the user's own status
 * command (parsed as `prisma migrate status`). prisma writes no down migrations: there is no rollback.
 */
export const prismaEngine: MigrationEngine = {
  ...toolEngine({
    name: 'prisma',
    applyCommand: (target) => applyCommand({ ...target.migrations, command: undefined }),
    statusCommand: () => [PRISMA, 'migrate', 'status'],
    readState: readPrismaPlan,
    parseStatus: parsePrismaStatus,
    failedMigration: prismaFailedMigration,
  }),
  noRollback: PRISMA_NO_ROLLBACK,
};
