import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { HEAD, PROD, load, yaml } from '../config/helpers.js';
import { retryDelayMs } from '../../../src/migrate/raw/apply-sql.js';
import { planDeploy } from '../../../src/plan/plan-deploy.js';

const database = (...migrations: string[]) => yaml(...HEAD, 'databases:', '  main:', '    url: postgres://db/app', `    migrations: { ${migrations.join(', ')} }`, ...PROD);

describe('migrations config', () => {
  it('keeps lock_timeout and the command overrides of container engines', async () => {
    const { config } = await load(database('engine: knex', 'path: migrations', 'lock_timeout: 5m', 'plan_command: [npx, knex, "migrate:list"]'));
    expect(config.databases.main!.migrations).toMatchObject({ engine: 'knex', lock_timeout: '5m', plan_command: ['npx', 'knex', 'migrate:list'] });
  });

  it('refuses command and plan_command on the raw engine, which applies the files itself', async () => {
    const error = await load(database('engine: raw', 'path: db', 'command: [node, m.js]', 'plan_command: [node, s.js]')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('engine raw applies the SQL files itself: remove command');
    expect((error as Error).message).toContain('remove plan_command');
  });

  it('raw: statement_lock_timeout and lock_retries are kept, and reach the deploy plan with their defaults (5s, 3)', async () => {
    const { config } = await load(database('engine: raw', 'path: db', 'statement_lock_timeout: 2s', 'lock_retries: 5'));
    expect(config.databases.main!.migrations).toMatchObject({ statement_lock_timeout: '2s', lock_retries: 5 });
    const plain = planDeploy((await load(database('engine: raw', 'path: db'))).config, { environment: 'prod', version: 'v1' });
    const migrate = plain.phases.find((phase) => phase.name === 'migrate_pre');
    expect(migrate && 'migrations' in migrate ? migrate.migrations[0] : undefined).toMatchObject({ statement_lock_timeout_ms: 5000, lock_retries: 3 });
  });

  it('refuses statement_lock_timeout and lock_retries on tool engines, and lock_retries out of 0..10', async () => {
    const error = await load(database('engine: knex', 'path: m', 'statement_lock_timeout: 2s', 'lock_retries: 1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('statement_lock_timeout is for the raw engine; knex takes its own locks');
    expect((error as Error).message).toContain('lock_retries is for the raw engine');
    await expect(load(database('engine: raw', 'path: db', 'lock_retries: 11'))).rejects.toThrow(/lock_retries/);
  });

  it('the pause before each retry grows (1s, 2s, 4s…) and stays at most 10s', () => {
    expect([1, 2, 3, 4, 5, 9].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('rejects a bad lock_timeout and an unknown engine, naming the known ones', async () => {
    await expect(load(database('engine: raw', 'path: db', 'lock_timeout: soon'))).rejects.toThrow(/lock_timeout.*duration/);
    await expect(load(database('engine: flyway', 'path: db'))).rejects.toThrow(/raw.*knex.*prisma.*drizzle.*golang-migrate.*sqitch.*command/);
  });
});
