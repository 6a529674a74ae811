import { describe, expect, it } from 'vitest';
import { selectDatabases } from '../../../src/cli/commands/migrate.js';
import { UserError } from '../../../src/errors.js';
import { HEAD, PROD, load, yaml } from '../config/helpers.js';

const CONFIG = yaml(
  ...HEAD,
  'databases:',
  '  main: { url: postgres://db/main, migrations: { engine: raw, path: db/main } }',
  '  events: { url: postgres://db/events, migrations: { engine: raw, path: db/events, strategy: post_deploy } }',
  '  reports: { url: postgres://db/reports, migrations: { engine: raw, path: db/reports, strategy: manual } }',
  ...PROD,
);

describe('which databases a migrate command acts on', () => {
  it('all by default, one with --database, those of one strategy with --strategy', async () => {
    const loaded = await load(CONFIG);
    expect(selectDatabases(loaded)).toEqual(['main', 'events', 'reports']);
    expect(selectDatabases(loaded, 'events')).toEqual(['events']);
    expect(selectDatabases(loaded, undefined, 'manual')).toEqual(['reports']);
    expect(selectDatabases(loaded, 'reports', 'manual')).toEqual(['reports']);
  });

  it('names the mistake: unknown database (with a suggestion), unknown strategy, no match', async () => {
    const loaded = await load(CONFIG);
    expect(() => selectDatabases(loaded, 'evnets')).toThrow(/unknown database "evnets" \(did you mean "events"\?\) — databases: main, events, reports/);
    expect(() => selectDatabases(loaded, undefined, 'later')).toThrow('--strategy later: expected one of pre_deploy, post_deploy, manual');
    expect(() => selectDatabases(loaded, 'main', 'manual')).toThrow(UserError);
    expect(() => selectDatabases(loaded, 'main', 'manual')).toThrow('database main does not have strategy manual');
  });

  it('a config without databases is a user error', async () => {
    const loaded = await load(yaml(...HEAD, ...PROD));
    expect(() => selectDatabases(loaded)).toThrow('configures no databases');
  });
});
