import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { Release } from '../../../src/releases/record.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { makeRelease } from './fixtures/make-release.js';

let dir: string;
let configPath: string;
let storeFile: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-cli-releases-'));
  configPath = path.join(dir, 'app', 'stagecraft.yml'); // never created: the commands must not need it
  storeFile = path.join(dir, 'app', '.stagecraft', 'releases.json');
  vi.stubEnv('STAGECRAFT_RELEASES_FILE', '');
  vi.stubEnv('STAGECRAFT_ENV', '');
});
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'stagecraft', '-c', configPath, ...args]);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

async function seed(): Promise<Release[]> {
  const instants = [
    '2026-11-20T10:00:00.000Z',
    '2026-11-20T11:00:00.000Z',
    '2026-11-21T09:00:00.000Z',
    '2026-11-21T10:00:00.000Z',
    '2026-11-22T08:00:00.000Z',
  ];
  let i = 0;
  const store = new ReleaseStore(storeFile, { now: () => new Date(instants[i++] as string) });
  const rows = [
    { environment: 'staging', version: 's1', status: 'completed', finished: '2026-11-20T10:01:04.000Z' },
    { environment: 'prod', version: 'p1', status: 'completed', finished: '2026-11-20T11:00:12.300Z' },
    { environment: 'staging', version: 's2', status: 'completed', finished: '2026-11-21T09:00:00.850Z' },
    { environment: 'prod', version: 'p2', status: 'failed', finished: '2026-11-21T10:02:00.000Z' },
    { environment: 'staging', version: 's3', status: 'running', finished: undefined },
  ] as const;
  const stored: Release[] = [];
  for (const [index, row] of rows.entries()) {
    stored.push(
      await store.append(
        makeRelease({
          environment: row.environment,
          version: row.version,
          status: row.status,
          started_at: instants[index] as string,
          ...(row.finished === undefined ? {} : { finished_at: row.finished }),
        }),
      ),
    );
  }
  return stored;
}

describe('releases list', () => {
  it('an empty store prints a friendly line and exits 0; --json prints []', async () => {
    const human = await run('releases', 'list');
    expect(human).toEqual({ code: 0, stdout: `no releases yet (${storeFile})\n`, stderr: '' });
    const json = await run('releases', 'list', '--json');
    expect(json).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('prints a table, newest first, marking each environment’s current release', async () => {
    await seed();
    const { code, stdout, stderr } = await run('releases', 'list');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe(
      [
        '   ID                      ENV      VERSION  STATUS     STARTED (UTC)        DURATION  KIND',
        '   rel-20261122-080000000  staging  s3       running    2026-11-22 08:00:00  -         deploy',
        '   rel-20261121-100000000  prod     p2       failed     2026-11-21 10:00:00  2m00s     deploy',
        '*  rel-20261121-090000000  staging  s2       completed  2026-11-21 09:00:00  850ms     deploy',
        '*  rel-20261120-110000000  prod     p1       completed  2026-11-20 11:00:00  12.3s     deploy',
        '   rel-20261120-100000000  staging  s1       completed  2026-11-20 10:00:00  1m04s     deploy',
        '',
        '* current release of its environment',
        '',
      ].join('\n'),
    );
  });

  it.each([
    { how: '-e', args: ['-e', 'prod', 'releases', 'list', '--json'], env: '' },
    { how: 'STAGECRAFT_ENV', args: ['releases', 'list', '--json'], env: 'prod' },
  ])('filters by environment ($how); --json prints only the records', async ({ args, env }) => {
    const stored = await seed();
    vi.stubEnv('STAGECRAFT_ENV', env);
    const { code, stdout } = await run(...args);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as Release[];
    expect(printed).toEqual(stored.filter((r) => r.environment === 'prod').reverse());
  });

  it('says so when an environment has no releases', async () => {
    await seed();
    const { code, stdout } = await run('-e', 'qa', 'releases', 'list');
    expect(code).toBe(0);
    expect(stdout).toBe(`no releases yet for environment "qa" (${storeFile})\n`);
  });

  it('STAGECRAFT_RELEASES_FILE overrides where the store is', async () => {
    const elsewhere = path.join(dir, 'elsewhere.json');
    await new ReleaseStore(elsewhere).append(makeRelease({ version: 'from-override' }));
    vi.stubEnv('STAGECRAFT_RELEASES_FILE', elsewhere);
    const { stdout } = await run('releases', 'list', '--json');
    expect((JSON.parse(stdout) as Release[]).map((r) => r.version)).toEqual(['from-override']);
  });

  it('works with an invalid stagecraft.yml next to the store', async () => {
    await seed();
    await writeFile(configPath, 'service: [unclosed\n');
    const { code, stdout } = await run('releases', 'list', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveLength(5);
  });
});

describe('releases show', () => {
  it('prints phases, hosts and migrations of one release', async () => {
    const [, prod] = await seed();
    await new ReleaseStore(storeFile).update((prod as Release).id, (release) => {
      release.image.digest = 'sha256:abc';
      release.commit = '0123456789abcdef';
      release.phases.build = { status: 'completed', duration_ms: 4200 };
      release.phases.migrate_pre = { status: 'completed', started_at: '2026-11-20T11:00:05.000Z', finished_at: '2026-11-20T11:00:06.500Z' };
      release.phases.rollout = { status: 'completed', duration_ms: 65_000 };
      release.hosts = [
        { address: '10.0.1.1', status: 'completed', container: 'hello-web-p1' },
        { address: '10.0.1.2', status: 'failed', error: 'health check\ntimed out' },
      ];
      release.migrations = [
        {
          database: 'main',
          engine: 'knex',
          strategy: 'pre_deploy',
          status: 'completed',
          applied: ['001_init', '002_users'],
          duration_ms: 1500,
          log_tail: ['Batch 1 run: 2 migrations', '\u001b[32mdone\u001b[0m'],
        },
        {
          database: 'events',
          engine: 'raw',
          strategy: 'pre_deploy',
          status: 'failed',
          applied: ['0001_events'],
          steps: [
            { id: '0001_events', outcome: 'applied', duration_ms: 40, description: 'Adds events', affects_tables: ['events'], risk_level: 'high', estimated_duration: '5s' },
            { id: '0002_broken', outcome: 'failed', duration_ms: 3 },
            { id: '0003_later', outcome: 'skipped' },
          ],
          log_tail: [],
          error: '0002_broken.sql: syntax error',
        },
      ];
    });
    const { code, stdout, stderr } = await run('releases', 'show', (prod as Release).id);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'rel-20261120-110000000  deploy  completed  (current release of prod)',
        '  environment  prod',
        '  service      hello',
        '  version      p1',
        '  image        127.0.0.1:5000/acme/hello:abc1234@sha256:abc',
        '  commit       0123456789abcdef',
        '  actor        tester',
        '  started      2026-11-20 11:00:00 UTC',
        '  finished     2026-11-20 11:00:12 UTC (took 12.3s)',
        '',
        'phases',
        '  build         completed  4.2s',
        '  push          pending    -',
        '  migrate_pre   completed  1.5s',
        '  rollout       completed  1m05s',
        '  migrate_post  pending    -',
        '  finalize      pending    -',
        '',
        'hosts',
        '  10.0.1.1  completed  hello-web-p1',
        '  10.0.1.2  failed                   error: health check ⏎ timed out',
        '',
        'migrations',
        '  main  knex  pre_deploy  completed  2 applied  1.5s',
        '    applied: 001_init, 002_users',
        '    log:',
        '      | Batch 1 run: 2 migrations',
        '      | done',
        '  events  raw  pre_deploy  failed  1 applied',
        '    error: 0002_broken.sql: syntax error',
        '    applied  0001_events  40ms · risk high · Adds events · tables events · estimated 5s',
        '    failed   0002_broken  3ms',
        '    skipped  0003_later',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the record and nothing else', async () => {
    const stored = await seed();
    const wanted = stored[3] as Release;
    const { code, stdout } = await run('releases', 'show', wanted.id, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(wanted);
  });

  it('an unknown id exits 1 naming the newest known ids', async () => {
    await seed();
    const { code, stdout, stderr } = await run('releases', 'show', 'rel-x');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'error: unknown release "rel-x" (known: rel-20261122-080000000, rel-20261121-100000000, rel-20261121-090000000, rel-20261120-110000000, rel-20261120-100000000)\n' +
        'hint: stagecraft releases list shows them all\n',
    );
  });

  it('an unknown id in an empty store says none are recorded', async () => {
    const { code, stderr } = await run('releases', 'show', 'rel-x', '--json');
    expect(code).toBe(1);
    expect(stderr).toBe('error: unknown release "rel-x" (no releases recorded yet)\n');
  });
});

describe('a corrupt store', () => {
  it.each([
    { args: ['releases', 'list'] },
    { args: ['releases', 'list', '--json'] },
    { args: ['releases', 'show', 'rel-20261120-100000000'] },
  ])('$args: exit 1 with the place, file untouched', async ({ args }) => {
    await mkdir(path.dirname(storeFile), { recursive: true });
    const bytes = '{"version": 1, "releases": [\n';
    await writeFile(storeFile, bytes);
    const { code, stdout, stderr } = await run(...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`error: ${storeFile}: not valid JSON at line 2 column 1 — fix or move it aside; stagecraft will not overwrite it\n`);
    expect(await readFile(storeFile, 'utf8')).toBe(bytes);
  });
});
