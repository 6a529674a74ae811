/**
 * What a rollback would run into: destructive or incompatible migrations (by the risk lint, as the
 * releases recorded them) applied after the target release was deployed. Its image may read a
 * column or table that is gone, so `rollback --to` refuses them unless --force.
 */
import type { Release } from './record.js';

export interface SchemaChange {
  release: string;
  version: string;
  database: string;
  migration: string;
  rule: string;
  class: string;
}

const BREAKS_OLDER_CODE = new Set(['destructive', 'incompatible']);

/** Pure: the schema changes applied by releases of `target`'s environment started after it (ids sort chronologically), oldest first. */
export function schemaChangesSince(releases: readonly Release[], target: Release): SchemaChange[] {
  return releases
    .filter((release) => release.environment === target.environment && release.id > target.id)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .flatMap((release) =>
      release.migrations.flatMap((record) =>
        (record.steps ?? [])
          .filter((step) => step.outcome === 'applied')
          .flatMap((step) =>
            (step.risk ?? [])
              .filter((finding) => BREAKS_OLDER_CODE.has(finding.class))
              .map((finding) => ({ release: release.id, version: release.version, database: record.database, migration: step.id, rule: finding.rule, class: finding.class })),
          ),
      ),
    );
}

/** `rel-… (v2) applied main: 0002_drop_legacy (drop-column, destructive)`, one per change. */
export function describeSchemaChanges(changes: readonly SchemaChange[]): string[] {
  return changes.map((c) => `${c.release} (${c.version}) applied ${c.database}: ${c.migration} (${c.rule}, ${c.class})`);
}
