/**
 * `stagecraft deploy` / `rollback` on the real testbed (3 hosts, auth registry, PostgreSQL):
 * dry run, first deploy, second deploy, a failing pre-deploy hook, rollbacks and their refusals,
 * secrets kept out of output, records and container argv. Nothing is mocked; the CLI runs from dist/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../src/releases/record.js';
import {
  TestProject,
  inspectOnHost,
  onHostChecked,
  registryTags,
  servedVersions,
  serviceContainers,
  uniqueService,
  waitFor,
  type CliResult,
  type DockerInspect,
} from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';
import { scratchDatabase, type ScratchDatabase } from './helpers/scratch-database.js';

const PHASES = ['build', 'push', 'migrate_pre', 'rollout', 'migrate_post', 'finalize'] as const;
const PROXY_PORT = 8110;
const service = uniqueService('e2ed');
const appSecret = `app-secret-${randomBytes(12).toString('hex')}`;

/**
 * The migration: prints the secret and the database URL (stagecraft must redact both), records
 * the version it ran for, then lingers so the test can inspect its container while it runs.
 */
const MIGRATION_JS = [
  "const pg = require('pg');",
  'console.log(`migrating with token=${process.env.APP_SECRET} url=${process.env.DATABASE_URL}`);',
  'const client = new pg.Client({ connectionString: process.env.DATABASE_URL });',
  'client.connect()',
  "  .then(() => client.query('CREATE TABLE IF NOT EXISTS e2e_runs (version text NOT NULL)'))",
  "  .then(() => client.query('INSERT INTO e2e_runs (version) VALUES ($1)', [process.env.STAGECRAFT_VERSION]))",
  '  .then(() => client.end())',
  "  .then(() => console.log('recorded ' + process.env.STAGECRAFT_VERSION))",
  '  .then(() => new Promise((resolve) => setTimeout(resolve, 3000)))',
  '  .catch((error) => { console.error(error.message); process.exit(1); });',
].join('\n');

/** Every hook writes the STAGECRAFT_* variables it received into the project dir. */
const RECORD_ENV_HOOK = 'env | grep "^STAGECRAFT_" | sort > "$PWD/hook-$(basename "$0").env"';

let state: TestbedState;
let hosts: string[];
let project: TestProject;
let database: ScratchDatabase;
let secrets: { name: string; value: string }[];

/** Results of the deploys later tests build on. */
let first: { result: CliResult; release: Release; migrationInspect: DockerInspect };
let second: { result: CliResult; release: Release };
let hookFailure: Release;

async function runsRecorded(): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.localUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass('e2e_runs') IS NOT NULL AS present");
    if (!exists.rows[0]?.present) return [];
    return (await client.query<{ version: string }>('SELECT version FROM e2e_runs ORDER BY version')).rows.map((row) => row.version);
  } finally {
    await client.end();
  }
}

async function containersEverywhere(): Promise<Record<string, string[]>> {
  const entries = await Promise.all(hosts.map(async (address) => [address, await serviceContainers(state, address, service)] as const));
  return Object.fromEntries(entries);
}

function everyHost<T>(value: T): Record<string, T> {
  return Object.fromEntries(hosts.map((address) => [address, value]));
}

function expectNoSecrets(text: string, where: string): void {
  for (const secret of secrets) {
    expect(text.includes(secret.value), `${secret.name} leaked into ${where}`).toBe(false);
  }
}

/** `docker inspect` minus Config.Env (where the app's environment belongs by design). */
function inspectWithoutEnv(info: DockerInspect): string {
  return JSON.stringify({ ...info, Config: { ...info.Config, Env: null } });
}

beforeAll(async () => {
  state = readTestbedState();
  hosts = state.hosts.slice(0, 3).map((host) => host.address);
  expect(hosts).toHaveLength(3);
  database = await scratchDatabase(state, 'e2ed');
  project = await TestProject.create(
    {
      service,
      proxyPort: PROXY_PORT,
      environments: { e2e: hosts, other: [hosts[2]!] },
      secretEnv: { APP_SECRET: appSecret },
      database: { url: database.url, command: ['node', '-e', MIGRATION_JS] },
    },
    state,
  );
  secrets = [
    { name: 'the app secret', value: appSecret },
    { name: 'the registry password', value: state.registry.password },
    { name: 'the database URL', value: database.url },
    { name: 'the database password', value: state.postgres.password },
  ];
});

afterAll(async () => {
  await project?.cleanup();
  await database?.drop();
});

describe('stagecraft deploy and rollback on three hosts', () => {
  it('--dry-run prints the plan and builds, pushes, changes and records nothing', async () => {
    const result = await project.run(['deploy', '--env', 'e2e', '--version', 'vdry', '--dry-run']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`deploy ${service} vdry to e2e`);
    for (const [index, phase] of PHASES.entries()) expect(result.stdout).toContain(`${index + 1}. ${phase}`);
    expect(result.stdout).toContain(`batch 1: ${hosts.map((address) => `${address} → ${service}-web-vdry`).join(', ')}`);
    expect(result.stdout).toContain(`main [command] on ${hosts[0]}`);
    expect(result.stdout).toContain('dry run: nothing was built, pushed, changed or recorded.');
    expectNoSecrets(result.stdout, 'the dry-run plan');

    expect(existsSync(project.releasesFile)).toBe(false);
    expect(await containersEverywhere()).toEqual(everyHost([]));
    expect(await registryTags(state, `e2e/${service}`)).toEqual([]);
    const local = await execa('docker', ['image', 'inspect', `${state.registry.server}/e2e/${service}:vdry`], { reject: false });
    expect(local.exitCode).not.toBe(0);
    expect(await runsRecorded()).toEqual([]);
  });

  it('deploys v1 to every host: served through each proxy, all six phases recorded, hooks informed', async () => {
    for (const hook of ['pre-build', 'pre-deploy', 'post-deploy'] as const) await project.writeHook(hook, RECORD_ENV_HOOK);
    const child = project.start(['deploy', '--env', 'e2e', '--version', 'v1', '--verbose']);
    // The migration container lingers for 3s after its work: inspect it while it exists.
    let exited = false;
    void child.finally(() => (exited = true));
    const migrationInspect = await waitFor(`the migration container on ${hosts[0]}`, async () => {
      const info = await inspectOnHost(state, hosts[0]!, `${service}-migrate-main-v1`);
      if (!info && exited) throw new Error(`deploy ended before its migration container was seen:\n${String((await child).stdout)}\n${String((await child).stderr)}`);
      return info;
    }, { timeoutMs: 120_000, intervalMs: 150 });
    const finished = await child;
    const result = { exitCode: finished.exitCode ?? -1, stdout: String(finished.stdout), stderr: String(finished.stderr) };
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const release = await project.lastRelease();
    first = { result, release, migrationInspect };

    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v1'));
    expect(release).toMatchObject({ environment: 'e2e', service, version: 'v1', kind: 'deploy', status: 'completed' });
    for (const phase of PHASES) expect(release.phases[phase].status, phase).toBe('completed');
    expect(release.image.ref).toBe(`${state.registry.server}/e2e/${service}:v1`);
    expect(release.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(release.hosts).toEqual(hosts.map((address) => ({ address, status: 'completed', container: `${service}-web-v1` })));
    expect(release.previous_id).toBeUndefined();
    // finalize: each host's own ~/.stagecraft/audit.log names this release (tab-separated:
    // time, actor, service, env, version, action, release id).
    for (const address of hosts) {
      const audit = await onHostChecked(state, address, ['cat', '.stagecraft/audit.log']);
      const line = audit.split('\n').find((entry) => entry.endsWith(`\t${release.id}`));
      expect(line?.split('\t').slice(2), `audit line on ${address}`).toEqual([service, 'e2e', 'v1', 'deploy', release.id]);
    }
    // The one database migrates pre-deploy; migrate_post completes with nothing to run.
    expect(release.migrations).toHaveLength(1);
    expect(release.migrations[0]).toMatchObject({ database: 'main', engine: 'command', strategy: 'pre_deploy', status: 'completed' });
    expect(release.migrations[0]!.log_tail).toContain('recorded v1');
    expect(result.stdout).toMatch(/migrate_post\s+✔ completed[^\n]*: nothing to run/);
    expect(await runsRecorded()).toEqual(['v1']);

    expect(await readFile(join(project.dir, 'hook-pre-build.env'), 'utf8')).toBe(
      [
        `STAGECRAFT_COMMAND=deploy`,
        `STAGECRAFT_ENV=e2e`,
        `STAGECRAFT_HOSTS=${hosts.join(',')}`,
        `STAGECRAFT_RELEASE_ID=${release.id}`,
        `STAGECRAFT_SERVICE=${service}`,
        `STAGECRAFT_VERSION=v1`,
        '',
      ].join('\n'),
    );
    const preBuild = await readFile(join(project.dir, 'hook-pre-build.env'), 'utf8');
    expect(await readFile(join(project.dir, 'hook-pre-deploy.env'), 'utf8')).toBe(preBuild);
    expect(await readFile(join(project.dir, 'hook-post-deploy.env'), 'utf8')).toBe(preBuild);
  });

  it('keeps every secret out of output, the release record and container argv; the env file is 0600', async () => {
    const { result, release, migrationInspect } = first;
    // --verbose streams build, push and migration output: the migration printed both secrets.
    expect(result.stdout).toMatch(/migrating with token=\S+ url=\S+/);
    expectNoSecrets(result.stdout, 'deploy --verbose stdout');
    expectNoSecrets(result.stderr, 'deploy --verbose stderr');
    expectNoSecrets(await project.releasesText(), 'releases.json');
    expectNoSecrets(release.migrations[0]!.log_tail.join('\n'), 'the migration log tail');
    expect(release.migrations[0]!.log_tail.join('\n')).toMatch(/migrating with token=\S+ url=\S+/);

    expect(migrationInspect.Config.Cmd).toEqual(['node', '-e', MIGRATION_JS]);
    expectNoSecrets(inspectWithoutEnv(migrationInspect), 'docker inspect of the migration container');
    for (const address of hosts) {
      const app = await inspectOnHost(state, address, `${service}-web-v1`);
      const proxy = await inspectOnHost(state, address, `${service}-proxy`);
      expect(app?.State.Running, `app on ${address}`).toBe(true);
      expect(proxy?.State.Running, `proxy on ${address}`).toBe(true);
      expect(app!.Config.Cmd).toEqual(['node', 'server.js']);
      expect([app!.Path, ...app!.Args]).toEqual(['node', 'server.js']);
      expect(app!.Config.Env).toContain(`APP_SECRET=${appSecret}`);
      expectNoSecrets(inspectWithoutEnv(app!), `docker inspect of the app container on ${address}`);
      expectNoSecrets(inspectWithoutEnv(proxy!), `docker inspect of the proxy container on ${address}`);
      expectNoSecrets(JSON.stringify(proxy!.Config.Env), `the proxy's environment on ${address}`);

      const envFile = `.stagecraft/env/${service}-e2e.env`;
      expect((await onHostChecked(state, address, ['stat', '-c', '%a', envFile])).trim(), `mode of ${envFile} on ${address}`).toBe('600');
      expect((await onHostChecked(state, address, ['stat', '-c', '%a', '.stagecraft/env'])).trim()).toBe('700');
    }
  });

  it('deploys v2 over v1 on every host, and keeps secrets out of its plain output too', async () => {
    const result = await project.run(['deploy', '--env', 'e2e', '--version', 'v2']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const release = await project.lastRelease();
    second = { result, release };
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v2'));
    expect(release).toMatchObject({ version: 'v2', status: 'completed', kind: 'deploy', previous_id: first.release.id });
    for (const phase of PHASES) expect(release.phases[phase].status, phase).toBe('completed');
    expect(release.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(release.image.digest).not.toBe(first.release.image.digest);
    expect(result.stdout).toContain(`${service} v2 is live on e2e (3 host(s))`);
    expectNoSecrets(result.stdout + result.stderr, 'deploy output');
    expectNoSecrets(await project.releasesText(), 'releases.json');
    for (const address of hosts) {
      const v1 = await inspectOnHost(state, address, `${service}-web-v1`);
      // The old container is stopped (kept for retain), the new one serves.
      expect(v1?.State.Running, `v1 on ${address}`).toBe(false);
      expect((await inspectOnHost(state, address, `${service}-web-v2`))?.State.Running, `v2 on ${address}`).toBe(true);
    }
    expect(await runsRecorded()).toEqual(['v1', 'v2']);
  });

  it('a pre-deploy hook that exits 1 aborts with exit 1 before any host changes', async () => {
    const before = await containersEverywhere();
    await project.writeHook('pre-deploy', `${RECORD_ENV_HOOK}\necho "not today" >&2\nexit 1`);
    const result = await project.run(['deploy', '--env', 'e2e', '--version', 'vhook']);
    await project.writeHook('pre-deploy', RECORD_ENV_HOOK);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('pre-deploy hook failed (exit 1)');
    expect(result.stdout).toContain('not today');
    const release = await project.lastRelease();
    hookFailure = release;
    expect(release).toMatchObject({ version: 'vhook', status: 'failed' });
    expect(release.phases.migrate_pre.status).toBe('failed');
    for (const phase of ['rollout', 'migrate_post', 'finalize'] as const) expect(release.phases[phase].status, phase).toBe('skipped');
    const hookEnv = await readFile(join(project.dir, 'hook-pre-deploy.env'), 'utf8');
    expect(hookEnv).toContain(`STAGECRAFT_RELEASE_ID=${release.id}\n`);
    expect(hookEnv).toContain('STAGECRAFT_VERSION=vhook\n');

    expect(await containersEverywhere()).toEqual(before);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v2'));
    expect(await runsRecorded()).toEqual(['v1', 'v2']);
  });

  it('rollback --to <v1> serves v1 again from its recorded digest, without a build or migrations', async () => {
    const result = await project.run(['rollback', '--env', 'e2e', '--to', first.release.id]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v1'));
    const release = await project.lastRelease();
    expect(release).toMatchObject({ kind: 'rollback', rollback_of: first.release.id, version: 'v1', status: 'completed', previous_id: second.release.id });
    expect(release.phases.build.status).toBe('skipped');
    expect(release.phases.push.status).toBe('skipped');
    expect(release.phases.migrate_pre.status).toBe('skipped');
    expect(release.phases.rollout.status).toBe('completed');
    expect(release.phases.finalize.status).toBe('completed');
    expect(release.image.digest).toBe(first.release.image.digest);
    expect(release.migrations).toEqual([]);
    expect(await runsRecorded()).toEqual(['v1', 'v2']);
    for (const address of hosts) {
      const app = await inspectOnHost(state, address, `${service}-web-v1`);
      expect(app?.State.Running).toBe(true);
      expect(app!.Config.Labels['stagecraft.version']).toBe('v1');
      expect(app!.Config.Image).toBe(`${state.registry.server}/e2e/${service}@${first.release.image.digest!}`);
    }
    // The pre-deploy hook is told it is a rollback.
    expect(await readFile(join(project.dir, 'hook-pre-deploy.env'), 'utf8')).toContain('STAGECRAFT_COMMAND=rollback\n');
  });

  it('rollback --to previous goes back to the release before the current one (v2)', async () => {
    const result = await project.run(['rollback', '--env', 'e2e', '--to', 'previous']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v2'));
    const release = await project.lastRelease();
    expect(release).toMatchObject({ kind: 'rollback', rollback_of: second.release.id, version: 'v2', status: 'completed' });
    expect(release.image.digest).toBe(second.release.image.digest);
  });

  it('refuses to roll back to an unknown id or a failed release (exit 1), changing nothing', async () => {
    const recorded = (await project.releases()).length;
    const before = await containersEverywhere();

    const unknown = await project.run(['rollback', '--env', 'e2e', '--to', 'rel-20000101-000000000']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown release "rel-20000101-000000000"');

    const failed = await project.run(['rollback', '--env', 'e2e', '--to', hookFailure.id]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain(`release ${hookFailure.id} is failed, not completed`);

    expect((await project.releases()).length).toBe(recorded);
    expect(await containersEverywhere()).toEqual(before);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v2'));
  });

  it("refuses to roll back to another environment's release (exit 1)", async () => {
    // Names are per service, so a host serves one environment of it: "other" may not take over host 3.
    const taken = await project.run(['deploy', '--env', 'other', '--version', 'v1', '--skip-build']);
    expect(taken.exitCode).toBe(2);
    expect(taken.stderr).toContain(`${hosts[2]} already serves environment "e2e" of ${service}`);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v2'));

    // Retire "e2e" on host 3, then a completed release of "other" there, from the v1 image already pushed. Last test.
    const ids = (await onHostChecked(state, hosts[2]!, ['docker', 'ps', '-aq', '--filter', `label=stagecraft.service=${service}`])).split('\n').filter(Boolean);
    await onHostChecked(state, hosts[2]!, ['docker', 'rm', '-f', ...ids]);
    const other = await project.run(['deploy', '--env', 'other', '--version', 'v1', '--skip-build']);
    expect(other.stderr).toBe('');
    expect(other.exitCode).toBe(0);
    const otherRelease = await project.lastRelease();
    expect(otherRelease).toMatchObject({ environment: 'other', status: 'completed' });
    const recorded = (await project.releases()).length;

    const refused = await project.run(['rollback', '--env', 'e2e', '--to', otherRelease.id]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`release ${otherRelease.id} belongs to environment "other", not "e2e"`);
    const reverse = await project.run(['rollback', '--env', 'other', '--to', first.release.id]);
    expect(reverse.exitCode).toBe(1);
    expect(reverse.stderr).toContain(`belongs to environment "e2e", not "other"`);
    expect((await project.releases()).length).toBe(recorded);
  });
});
