import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { HEAD, PROD, load, yaml } from '../config/helpers.js';
import { backupContainerSpec, backupSpecOf, backupsFor, timeStamp } from '../../../src/migrate/backup.js';
import type { BackupSpec } from '../../../src/migrate/backup.js';
import type { DatabaseRunPlan, MigrationStep, StepFinding } from '../../../src/migrate/orchestrate/migration-plan.js';
import { planDeploy } from '../../../src/plan/plan-deploy.js';
import { formatPlan } from '../../../src/plan/format-plan.js';

/** Backups before migrations (`databases.X.backup`), as data. */

const withBackup = (...backup: string[]) =>
  yaml(...HEAD, 'databases:', '  main:', '    url: postgres://u:pw@db/app', '    migrations: { engine: raw, path: db }', ...backup, ...PROD);

const SPEC: BackupSpec = { image: 'postgres:16', command: ['pg_dump', '-Fc'], when: 'destructive', timeout_ms: 600_000, volumes: [] };

function finding(rule: string, cls: StepFinding['class']): StepFinding {
  return { rule, class: cls, line: 1, message: 'm', fix: 'f' };
}

function step(id: string, extra: Partial<MigrationStep> = {}): MigrationStep {
  return { id, direction: 'up', phase: 'migrate_pre', depends_on: [], checksum: null, risk_level: null, ...extra };
}

function plan(database: string, steps: MigrationStep[] | null, extra: Partial<DatabaseRunPlan> = {}): DatabaseRunPlan {
  return { database, engine: 'raw', strategy: 'pre_deploy', phase: 'migrate_pre', direction: 'up', steps, notes: [], ...extra };
}

describe('backup config', () => {
  it('keeps image and command as given, with defaults when: destructive, timeout 10m, no volumes', async () => {
    const { config } = await load(withBackup('    backup:', '      image: postgres:16', "      command: [sh, -c, 'pg_dump \"$$DATABASE_URL\" > /b/x.sql']"));
    expect(config.databases.main!.backup).toEqual({ image: 'postgres:16', command: ['sh', '-c', 'pg_dump "$DATABASE_URL" > /b/x.sql'], when: 'destructive', timeout: '10m', volumes: [] });
    expect(backupSpecOf(config.databases.main!.backup!)).toEqual({ image: 'postgres:16', command: ['sh', '-c', 'pg_dump "$DATABASE_URL" > /b/x.sql'], when: 'destructive', timeout_ms: 600_000, volumes: [] });
  });

  it('errors point at the node: missing image, a command string, an unknown when, a bad volume, an unknown key', async () => {
    const problems = async (...lines: string[]) => {
      const error = await load(withBackup(...lines)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    };
    expect(await problems('    backup: { command: [pg_dump] }')).toMatch(/stagecraft\.yml:7:5: missing required key "image" in databases\.main\.backup/);
    expect(await problems('    backup:', '      image: postgres:16', '      command: pg_dump -Fc')).toMatch(/stagecraft\.yml:9:16: .*(array|list)/);
    expect(await problems('    backup:', '      image: postgres:16', '      command: [pg_dump]', '      when: sometimes')).toMatch(/stagecraft\.yml:10:13: .*destructive.*always/);
    expect(await problems('    backup:', '      image: postgres:16', '      command: [pg_dump]', '      volumes: [backups:/backups]')).toMatch(/stagecraft\.yml:10:17: databases\.main\.backup\.volumes\[0\]: must be "\/host\/dir:\/container\/dir"/);
    expect(await problems('    backup:', '      image: postgres:16', '      command: [pg_dump]', '      timout: 5m')).toMatch(/stagecraft\.yml:10:7: unknown key "timout".*did you mean "timeout"/);
    expect(await problems('    backup:', '      image: postgres:16', '      command: []')).toMatch(/stagecraft\.yml:9:7: databases\.main\.backup\.command: must have at least 1 item/);
  });

  it('reaches the deploy plan, and the dry run prints it (never the URL)', async () => {
    const { config } = await load(withBackup('    backup: { image: postgres:16, command: [pg_dump, -Fc], when: always, timeout: 30s, volumes: ["/srv/backups:/backups"] }'));
    const deploy = planDeploy(config, { environment: 'prod', version: 'v1' });
    const pre = deploy.phases.find((phase) => phase.name === 'migrate_pre');
    expect(pre && 'migrations' in pre ? pre.migrations[0]?.backup : undefined).toEqual({ image: 'postgres:16', command: ['pg_dump', '-Fc'], when: 'always', timeout_ms: 30_000, volumes: ['/srv/backups:/backups'] });
    const text = formatPlan(deploy);
    expect(text).toContain('backup before every run: postgres:16 pg_dump -Fc (timeout 30s, volumes /srv/backups:/backups)');
    expect(text).not.toContain('pw@db');
    const destructive = formatPlan(planDeploy((await load(withBackup('    backup: { image: postgres:16, command: [pg_dump] }'))).config, { environment: 'prod', version: 'v1' }));
    expect(destructive).toContain('backup before destructive migrations: postgres:16 pg_dump');
  });
});

describe('which databases get a backup', () => {
  const specs = { main: SPEC, always: { ...SPEC, when: 'always' as const } };

  it('when: destructive — a step with a destructive finding, accepted or not; locking and incompatible do not count', () => {
    const needs = backupsFor(
      [
        plan('main', [step('0001_add'), step('0002_drop', { findings: [finding('drop-column', 'destructive'), finding('drop-table', 'destructive')] })]),
        plan('other', [step('0001_drop', { findings: [finding('drop-table', 'destructive')] })]),
      ],
      specs,
    );
    expect(needs).toEqual([{ database: 'main', spec: SPEC, reason: 'destructive: 0002_drop (drop-column, drop-table)' }]);

    const accepted = backupsFor([plan('main', [step('0003_truncate', { accepted: [{ ...finding('truncate', 'destructive'), reason: 'test data' }] })])], specs);
    expect(accepted.map((n) => n.reason)).toEqual(['destructive: 0003_truncate (truncate)']);

    const notDestructive = [
      plan('main', [step('0004_index', { findings: [finding('create-index', 'locking')] }), step('0005_rename', { findings: [finding('rename-column', 'incompatible')] })]),
    ];
    expect(backupsFor(notDestructive, specs)).toEqual([]);
    expect(backupsFor([plan('main', [])], specs)).toEqual([]);
    expect(backupsFor([plan('main', null, { engine: 'knex' })], specs)).toEqual([]);
  });

  it('when: always — any step to apply, or an engine that cannot tell; nothing to apply, blocked, unreadable or a rollback: none', () => {
    expect(backupsFor([plan('always', [step('0001_a'), step('0002_b')])], specs)).toEqual([{ database: 'always', spec: specs.always, reason: 'when: always (0001_a, 0002_b)' }]);
    expect(backupsFor([plan('always', null, { engine: 'golang-migrate' })], specs).map((n) => n.reason)).toEqual(['when: always (golang-migrate applies what it finds)']);
    expect(backupsFor([plan('always', [])], specs)).toEqual([]);
    expect(backupsFor([plan('always', [], { blocked: 'drift' })], specs)).toEqual([]);
    expect(backupsFor([plan('always', null, { unreadable: 'down' })], specs)).toEqual([]);
    expect(backupsFor([plan('always', [step('0002_b', { direction: 'down' })], { direction: 'down' })], specs)).toEqual([]);
  });

  it('a database without backup config never gets one', () => {
    expect(backupsFor([plan('plain', [step('0001', { findings: [finding('drop-table', 'destructive')] })])], specs)).toEqual([]);
  });
});

describe('the backup container', () => {
  const url = 'postgres://app:s3cret-pw@db.internal:5432/app';

  it('argv exactly as configured; DATABASE_URL only in the environment; names from service, database and release', () => {
    const spec = { ...SPEC, command: ['sh', '-c', 'pg_dump "$DATABASE_URL" > /b/$STAGECRAFT_BACKUP_NAME.sql; echo $(id)'], volumes: ['/srv/b:/b'] };
    const container = backupContainerSpec({ service: 'hello', environment: 'prod', database: 'main', releaseId: 'rel-20261122-093012345', suffix: '', spec, url });
    expect(container).toEqual({
      image: 'postgres:16',
      name: 'hello-backup-main-rel-20261122-093012345',
      cmd: ['sh', '-c', 'pg_dump "$DATABASE_URL" > /b/$STAGECRAFT_BACKUP_NAME.sql; echo $(id)'],
      env: {
        DATABASE_URL: url,
        STAGECRAFT_DATABASE: 'main',
        STAGECRAFT_ENVIRONMENT: 'prod',
        STAGECRAFT_RELEASE: 'rel-20261122-093012345',
        STAGECRAFT_BACKUP_NAME: 'hello-main-rel-20261122-093012345',
      },
      labels: { 'stagecraft.service': 'hello', 'stagecraft.environment': 'prod', 'stagecraft.role': 'backup' },
      binds: ['/srv/b:/b'],
      timeoutMs: 600_000,
      backupName: 'hello-main-rel-20261122-093012345',
    });
    const { env, ...rest } = container;
    expect(JSON.stringify(rest)).not.toContain('s3cret');
    expect(Object.entries(env).filter(([, value]) => value.includes('s3cret')).map(([key]) => key)).toEqual(['DATABASE_URL']);
  });

  it('a second backup in one deploy gets a suffix; migrate run (no release) is named by time and has no STAGECRAFT_RELEASE', () => {
    const second = backupContainerSpec({ service: 'hello', environment: 'prod', database: 'main', releaseId: 'rel-1', suffix: '2', spec: SPEC, url });
    expect([second.name, second.backupName]).toEqual(['hello-backup-main-rel-1-2', 'hello-main-rel-1-2']);
    const stamp = timeStamp(new Date('2026-11-22T09:30:12.345Z'));
    expect(stamp).toBe('20261122-093012');
    const run = backupContainerSpec({ service: 'hello', environment: 'prod', database: 'main', suffix: stamp, spec: SPEC, url });
    expect([run.name, run.backupName]).toEqual(['hello-backup-main-20261122-093012', 'hello-main-20261122-093012']);
    expect(run.env).not.toHaveProperty('STAGECRAFT_RELEASE');
  });
});
