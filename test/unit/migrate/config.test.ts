import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { HEAD, PROD, load, yaml } from '../config/helpers.js';

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

  it('rejects a bad lock_timeout and an unknown engine, naming the known ones', async () => {
    await expect(load(database('engine: raw', 'path: db', 'lock_timeout: soon'))).rejects.toThrow(/lock_timeout.*duration/);
    await expect(load(database('engine: flyway', 'path: db'))).rejects.toThrow(/raw.*knex.*prisma.*drizzle.*golang-migrate.*sqitch.*command/);
  });
});
