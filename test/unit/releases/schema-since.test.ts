import { describe, expect, it } from 'vitest';
import type { MigrationRecord, Release } from '../../../src/releases/record.js';
import { describeSchemaChanges, schemaChangesSince } from '../../../src/releases/schema-since.js';

/** What a rollback would run into: destructive or incompatible migrations applied after its target. */

function release(id: string, version: string, migrations: MigrationRecord[] = [], environment = 'prod'): Release {
  return {
    id,
    environment,
    service: 'shop',
    version,
    image: { ref: `reg/shop:${version}` },
    actor: 'ada',
    started_at: '2026-12-01T10:00:00.000Z',
    status: 'completed',
    kind: 'deploy',
    phases: {} as Release['phases'],
    hosts: [],
    migrations,
  };
}

function migrated(steps: NonNullable<MigrationRecord['steps']>, database = 'main'): MigrationRecord {
  return { database, engine: 'raw', strategy: 'pre_deploy', status: 'completed', applied: steps.filter((s) => s.outcome === 'applied').map((s) => s.id), steps, log_tail: [] };
}

describe('schema changes since a release', () => {
  const v1 = release('rel-20261201-100000000', 'v1');
  const releases = [
    release('rel-20261130-100000000', 'v0', [migrated([{ id: '0001_old_drop', outcome: 'applied', risk: [{ rule: 'drop-table', class: 'destructive' }] }])]),
    v1,
    release('rel-20261201-110000000', 'v2', [
      migrated([
        { id: '0002_index', outcome: 'applied', risk: [{ rule: 'create-index', class: 'locking' }] },
        { id: '0003_drop_legacy', outcome: 'applied', risk: [{ rule: 'drop-column', class: 'destructive' }] },
        { id: '0004_rename', outcome: 'failed', risk: [{ rule: 'rename-column', class: 'incompatible' }] },
      ]),
    ]),
    release('rel-20261201-111500000', 'v9', [migrated([{ id: '0009_other_env', outcome: 'applied', risk: [{ rule: 'drop-table', class: 'destructive' }] }])], 'staging'),
    release('rel-20261201-120000000', 'v3', [migrated([{ id: '0005_rename', outcome: 'applied', risk: [{ rule: 'rename-column', class: 'incompatible' }] }], 'events')]),
  ];

  it('lists applied destructive and incompatible migrations of later releases of the same environment, nothing else', () => {
    const changes = schemaChangesSince(releases, v1);
    // The store lists newest first: the order given does not matter.
    expect(schemaChangesSince([...releases].reverse(), v1)).toEqual(changes);
    expect(changes.map((c) => [c.release, c.database, c.migration, c.class])).toEqual([
      ['rel-20261201-110000000', 'main', '0003_drop_legacy', 'destructive'],
      ['rel-20261201-120000000', 'events', '0005_rename', 'incompatible'],
    ]);
    expect(describeSchemaChanges(changes)[0]).toBe('rel-20261201-110000000 (v2) applied main: 0003_drop_legacy (drop-column, destructive)');
  });

  it('nothing after the newest release; releases recorded before risk existed count as safe', () => {
    expect(schemaChangesSince(releases, releases.at(-1)!)).toEqual([]);
    expect(schemaChangesSince([v1, release('rel-20261201-130000000', 'v4', [migrated([{ id: '0006_x', outcome: 'applied' }])])], v1)).toEqual([]);
  });
});
