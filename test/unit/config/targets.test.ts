import { describe, expect, it } from 'vitest';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

const MAIN = ['databases:', '  main:', '    migrations: { engine: raw, path: db }'];

describe('databases.X.targets', () => {
  it('interpolates each target URL, keeps config order, and treats the URLs as secrets', async () => {
    const loaded = await load(yaml(...HEAD, ...MAIN, '    targets:', '      tenant_b: ${B_URL}', '      tenant_a: postgres://u:a-secret@db/a', ...PROD), {
      processEnv: { B_URL: 'postgres://u:b-secret@db/b' },
    });
    const main = loaded.config.databases.main!;
    expect(main.targets).toEqual({ tenant_b: 'postgres://u:b-secret@db/b', tenant_a: 'postgres://u:a-secret@db/a' });
    expect(Object.keys(main.targets!)).toEqual(['tenant_b', 'tenant_a']);
    // Without url, the first target stands for the database.
    expect(main.url).toBe('postgres://u:b-secret@db/b');
    expect(loaded.secretValues).toEqual(expect.arrayContaining(['postgres://u:b-secret@db/b', 'postgres://u:a-secret@db/a', 'b-secret', 'a-secret']));
  });

  it('rejects a bad target name and an empty URL at their place', async () => {
    expect(await loadErrors(yaml(...HEAD, ...MAIN, '    targets:', '      Tenant: postgres://x', '      b: ""', ...PROD))).toEqual([
      'stagecraft.yml:7:7: invalid name "Tenant" in databases.main.targets: target names use lowercase letters, digits, _ and -',
      expect.stringMatching(/^stagecraft\.yml:8:10: databases\.main\.targets\.b: /),
    ]);
  });

  it('does not quote a target URL in an error', async () => {
    const errors = await loadErrors(yaml(...HEAD, ...MAIN, '    targets:', '      a: ${MISSING_URL}', ...PROD));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^stagecraft\.yml:7:10: .*MISSING_URL/);
  });

  it('needs url or at least one target', async () => {
    expect(await loadErrors(yaml(...HEAD, ...MAIN, '    targets: {}', ...PROD))).toEqual([
      'stagecraft.yml:4:3: missing required key "url" in databases.main',
      'stagecraft.yml:6:5: databases.main.targets: targets is empty: name at least one target, or remove targets',
    ]);
  });
});

describe('environments.X.priority', () => {
  it('defaults to 100 and takes the environment’s integer', async () => {
    expect((await load(yaml(...HEAD, ...PROD))).config.priority).toBe(100);
    expect((await load(yaml(...HEAD, ...PROD, '    priority: 10'))).config.priority).toBe(10);
  });

  it('rejects a non-integer at its place', async () => {
    expect(await loadErrors(yaml(...HEAD, ...PROD, '    priority: 1.5'))).toEqual([expect.stringMatching(/^stagecraft\.yml:7:15: environments\.prod\.priority: /)]);
  });
});

describe('databases.X.migrations.fan_out', () => {
  const withFanOut = (line: string) => yaml(...HEAD, 'databases:', '  main:', '    url: postgres://x', '    migrations:', '      engine: raw', '      path: db', `      fan_out: ${line}`, ...PROD);

  it('defaults the strategy to sequential and keeps the options of the strategy', async () => {
    expect((await load(withFanOut('{}'))).config.databases.main!.migrations.fan_out).toEqual({ strategy: 'sequential' });
    expect((await load(withFanOut('{ strategy: canary, canary_percent: 25, max_concurrent: 2 }'))).config.databases.main!.migrations.fan_out).toEqual({
      strategy: 'canary',
      canary_percent: 25,
      max_concurrent: 2,
    });
  });

  it('rejects an unknown strategy, out-of-range numbers and options of another strategy, with file:line:col', async () => {
    expect(await loadErrors(withFanOut('{ strategy: blue }'))).toEqual([
      'stagecraft.yml:9:28: databases.main.migrations.fan_out.strategy: expected one of sequential, parallel, rolling, canary, got "blue"',
    ]);
    expect(await loadErrors(withFanOut('{ strategy: canary, canary_percent: 0 }'))).toEqual(['stagecraft.yml:9:52: databases.main.migrations.fan_out.canary_percent: must be at least 1']);
    expect(await loadErrors(withFanOut('{ strategy: sequential, batch_size: 2 }'))).toEqual([
      'stagecraft.yml:9:52: databases.main.migrations.fan_out.batch_size: batch_size is for strategy rolling, not sequential',
    ]);
  });
});
