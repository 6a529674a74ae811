/**
 * The rollback's schema check against the databases themselves: raw migrations applied after the
 * target release finished (by later deploys or by `migrate run`, which records no release) whose
 * files the risk lint classes destructive or incompatible. The releases' own records are checked
 * before any host is touched (src/releases/schema-since.ts); this adds what only the tracking
 * table knows.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { closeClient } from '../migrate/database/connect.js';
import { open as openDatabase } from '../migrate/engines/raw.js';
import { migrationsDir, readMigrationFiles } from '../migrate/raw/files.js';
import { readTrackingRows, trackingTableExists } from '../migrate/raw/tracking.js';
import { lintDatabase } from '../migrate/risk/guard.js';
import { engineTargets } from '../migrate/target.js';
import type { SchemaChange } from '../releases/schema-since.js';
import type { Session } from './session.js';

const BREAKS_OLDER_CODE = new Set(['destructive', 'incompatible']);

/** Destructive or incompatible raw migrations completed after `since` (ISO time), per database. */
export async function schemaChangesInDatabases(session: Session, loaded: LoadedConfig, since: string): Promise<SchemaChange[]> {
  const raw = Object.entries(loaded.config.databases).filter(([, spec]) => spec.migrations.engine === 'raw').map(([name]) => name);
  if (raw.length === 0) return [];
  const targets = engineTargets(
    { loaded, actor: session.actor, host: () => session.host(session.primary), image: { missing: 'not needed' }, containerName: () => '', log: () => undefined, scrub: session.scrub },
    raw,
  );
  const changes: SchemaChange[] = [];
  for (const target of targets) {
    const client = await openDatabase(target, 'rollback check');
    let rows;
    try {
      await client.query('BEGIN READ ONLY');
      rows = (await trackingTableExists(client)) ? await readTrackingRows(client) : [];
      await client.query('COMMIT');
    } finally {
      await closeClient(client);
    }
    // A deploy's own migrations are in its release record (checked before this); here: `migrate run`'s.
    const later = rows.filter((row) => row.status === 'completed' && !row.metadata?.release_id && row.finished_at !== null && row.finished_at.getTime() > Date.parse(since));
    if (later.length === 0) continue;
    const settings = target.migrations;
    const { dir, display } = migrationsDir(loaded.dir, settings.path ?? '.');
    const files = new Map((await readMigrationFiles(dir, display, { environment: loaded.environment })).map((file) => [file.id, file]));
    const lint = await lintDatabase(loaded.dir, { engine: 'raw', path: settings.path }, loaded.environment);
    for (const row of later) {
      const file = files.get(row.id);
      const result = file && lint.get(path.join(display, file.file));
      const found = [...(result?.findings ?? []), ...(result?.accepted ?? [])].filter((finding) => BREAKS_OLDER_CODE.has(finding.class));
      for (const finding of found) {
        changes.push({ release: 'migrate run', version: row.finished_at!.toISOString(), database: target.database, migration: row.id, rule: finding.rule, class: finding.class });
      }
    }
  }
  return changes;
}
