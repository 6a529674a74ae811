/**
 * `stagecraft details` and `stagecraft prune` on the real testbed (issue 14): four versions
 * deployed to two hosts with retain 5, so three old containers wait on each host. details --json
 * is compared with what Docker itself reports on each host (via the `ssh` client, not stagecraft);
 * prune --keep 1 leaves one old container per host, removes the others and their images, never
 * touches the proxy or a migration container, refuses while the deploy lock is held, and leaves
 * an audit line on each host. Nothing is mocked.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Details } from '../../src/ops/details.js';
import { TestProject, imageRepository, onHost, onHostChecked, servedVersions, serviceContainers, uniqueService, type CliResult } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const HOSTS = ['10.201.0.12', '10.201.0.13'];
const PORT = 8194;
const VERSIONS = ['v1', 'v2', 'v3', 'v4'];

let state: TestbedState;
let project: TestProject;
const service = uniqueService('e2ep');

function ok(result: CliResult): CliResult {
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

async function details(args: string[] = []): Promise<Details> {
  return JSON.parse(ok(await project.run(['details', '--env', 'prod', '--json', ...args])).stdout) as Details;
}

interface Inspected {
  Name: string;
  Image: string;
  Config: { Image: string; Labels: Record<string, string> };
  State: { Status: string; Running: boolean; StartedAt: string; ExitCode: number };
}

/** What Docker on the host says about the service's app containers, independently of stagecraft. */
async function dockerView(address: string): Promise<{ name: string; version: string; image: string; digest: string | null; started_at: string; state: string; running: boolean }[]> {
  const names = (await onHostChecked(state, address, ['docker', 'ps', '-a', '--filter', `label=stagecraft.service=${service}`, '--filter', 'label=stagecraft.role=web', '--format', '{{.Names}}']))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (names.length === 0) return [];
  const inspected = JSON.parse(await onHostChecked(state, address, ['docker', 'inspect', '--type', 'container', ...names])) as Inspected[];
  const view = [];
  for (const container of inspected) {
    const image = JSON.parse(await onHostChecked(state, address, ['docker', 'image', 'inspect', container.Image])) as { RepoDigests: string[] }[];
    const own = image[0]!.RepoDigests.find((ref) => ref.startsWith(`${imageRepository(state, service)}@`));
    view.push({
      name: container.Name.replace(/^\//, ''),
      version: container.Config.Labels['stagecraft.version']!,
      image: container.Config.Image,
      digest: own ? own.slice(own.indexOf('@') + 1) : null,
      started_at: container.State.StartedAt,
      state: container.State.Status,
      running: container.State.Running,
    });
  }
  return view.sort((a, b) => a.name.localeCompare(b.name));
}

/** The versions whose image (by the digest each release recorded) is on a host. */
async function imageVersions(address: string): Promise<string[]> {
  const out = await onHostChecked(state, address, ['docker', 'images', '--digests', imageRepository(state, service), '--format', '{{.Digest}}']);
  const digests = new Set(out.split('\n').map((line) => line.trim()));
  const releases = await project.releases();
  return [...new Set(releases.filter((r) => r.image.digest && digests.has(r.image.digest)).map((r) => r.version))].sort();
}

/** How prune names the image of a version: its digest, shortened, and the version. */
async function imageName(version: string): Promise<string> {
  const digest = (await project.releases()).find((r) => r.version === version)!.image.digest!;
  return `${imageRepository(state, service)}@${digest.slice(0, 19)} (${version})`;
}

/** The indented lines under a host's own line in prune's output. */
function hostSection(output: string, address: string): string {
  const lines = output.split('\n');
  const start = lines.indexOf(address);
  expect(start, output).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((line, index) => index > start && !line.startsWith('  '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

async function proxyTarget(address: string): Promise<string> {
  const config = await onHostChecked(state, address, ['docker', 'exec', `${service}-proxy`, 'cat', '/etc/nginx/conf.d/default.conf']);
  return /server (\S+?):\d+/.exec(config)?.[1] ?? config;
}

describe('details and prune', () => {
  beforeAll(async () => {
    state = readTestbedState();
    project = await TestProject.create({ service, proxyPort: PORT, environments: { prod: HOSTS }, retain: 5 }, state);
    for (const version of VERSIONS) ok(await project.run(['deploy', '--env', 'prod', '--version', version]));
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('details --json matches what runs on each host', async () => {
    const shown = await details();
    const current = await project.lastRelease();
    expect(current.version).toBe('v4');
    expect(shown.service).toBe(service);
    expect(shown.environment).toBe('prod');
    expect(shown.current_release).toEqual({
      id: current.id,
      kind: 'deploy',
      version: 'v4',
      image: `${imageRepository(state, service)}@${current.image.digest}`,
      digest: current.image.digest,
      commit: current.commit ?? null,
      actor: current.actor,
      finished_at: current.finished_at,
    });
    expect(shown.lock).toEqual({ locked: false, holder: null });
    expect(shown.hosts.map((host) => host.address)).toEqual(HOSTS);
    expect(await servedVersions(HOSTS, PORT)).toEqual(Object.fromEntries(HOSTS.map((address) => [address, 'v4'])));

    for (const host of shown.hosts) {
      expect(host.reachable).toBe(true);
      expect(host.proxy).toEqual({ container: `${service}-proxy`, target: `${service}-web-v4` });
      expect(await proxyTarget(host.address)).toBe(`${service}-web-v4`);
      expect(host.roles.map((role) => role.role)).toEqual(['web']);
      const containers = host.roles[0]!.containers;
      // Serving first, then the old ones kept for rollback, newest first.
      expect(containers.map((c) => [c.name, c.health])).toEqual([
        [`${service}-web-v4`, 'serving'],
        [`${service}-web-v3`, 'exited (0)'],
        [`${service}-web-v2`, 'exited (0)'],
        [`${service}-web-v1`, 'exited (0)'],
      ]);
      const docker = await dockerView(host.address);
      expect(containers.map((c) => ({ name: c.name, version: c.version, image: c.image, digest: c.digest, started_at: c.started_at, state: c.state })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
        docker.map(({ running: _running, ...rest }) => rest),
      );
      expect(containers[0]!.digest).toBe(current.image.digest);
      expect(docker.filter((c) => c.running).map((c) => c.name)).toEqual([`${service}-web-v4`]);
    }

    const text = ok(await project.run(['details', '--env', 'prod']));
    expect(text.stdout).toContain(`current release: ${current.id} v4 (deploy by `);
    expect(text.stdout).toContain('deploy lock: not locked');
    expect(text.stdout).toContain(`${HOSTS[1]}  proxy ${service}-proxy → ${service}-web-v4`);
    expect(text.stdout).toMatch(new RegExp(`${service}-web-v4 +v4 +serving +started `));
  });

  it('details shows the deploy lock while someone holds it', async () => {
    ok(await project.run(['lock', 'acquire', '--env', 'prod', '-m', 'looking around']));
    try {
      const shown = await details();
      expect(shown.lock.locked).toBe(true);
      expect(shown.lock.holder).toMatchObject({ service, environment: 'prod', command: 'manual lock', message: 'looking around' });
      expect(ok(await project.run(['details', '--env', 'prod'])).stdout).toContain('message: "looking around"');
    } finally {
      ok(await project.run(['lock', 'release', '--env', 'prod']));
    }
  });

  it('an unreachable host is shown as such, after everything else, and exits 5', async () => {
    const document = parse(await readFile(project.configPath, 'utf8')) as { environments: { prod: { hosts: { address: string; port?: number }[] } } };
    // Nothing listens on port 1 of the host: the connection is refused.
    document.environments.prod.hosts[1]!.port = 1;
    await writeFile(join(project.dir, 'unreachable.yml'), stringify(document));
    const result = await project.run(['details', '--env', 'prod', '--json', '-c', 'unreachable.yml']);
    expect(result.exitCode, result.stderr).toBe(5);
    const shown = JSON.parse(result.stdout) as Details;
    expect(shown.hosts[0]).toMatchObject({ address: HOSTS[0], reachable: true, proxy: { target: `${service}-web-v4` } });
    expect(shown.hosts[0]!.roles[0]!.containers).toHaveLength(4);
    expect(shown.hosts[1]).toMatchObject({ address: HOSTS[1], reachable: false, roles: [], proxy: { container: null, target: null } });
    expect(shown.hosts[1]!.error).toMatch(/refused/i);
    expect(result.stderr).toContain(`error: 1 of 2 hosts could not be read: ${HOSTS[1]} (`);
    expect(result.stderr).not.toMatch(/\n\s+at /);

    const text = await project.run(['details', '--env', 'prod', '-c', 'unreachable.yml']);
    expect(text.exitCode).toBe(5);
    expect(text.stdout).toContain(`${HOSTS[1]}: UNREACHABLE: `);
    expect(text.stdout).toContain(`${service}-web-v1`);

    // prune reads the rest, says which host it could not read, and exits 5 too.
    const dry = await project.run(['prune', '--env', 'prod', '--dry-run', '-c', 'unreachable.yml']);
    expect(dry.exitCode, dry.stderr).toBe(5);
    expect(hostSection(dry.stdout, HOSTS[0]!)).toContain(`  keep   container ${service}-web-v1 `);
    expect(dry.stdout).toContain(`${HOSTS[1]}: not read: `);
    const auditBefore = await onHostChecked(state, HOSTS[0]!, ['cat', '.stagecraft/audit.log']);
    const real = await project.run(['prune', '--env', 'prod', '--keep', '3', '-c', 'unreachable.yml']);
    expect(real.exitCode, real.stderr).toBe(5);
    expect(hostSection(real.stdout, HOSTS[0]!)).toBe('  nothing to remove');
    expect(real.stdout).toContain(`${HOSTS[1]}: not read, nothing pruned: `);
    expect(real.stderr).toContain(`error: 1 host could not be read, nothing pruned there: ${HOSTS[1]} (`);
    const auditAfter = await onHostChecked(state, HOSTS[0]!, ['cat', '.stagecraft/audit.log']);
    expect(auditAfter.slice(auditBefore.length)).toMatch(new RegExp(`\t${service}\tprod\t-\tprune\tkeep 3: removed 0 containers and 0 images$`));
  });

  it('nothing deployed yet: details shows empty hosts and no release (exit 0); prune finds nothing', async () => {
    const fresh = await TestProject.create({ service: uniqueService('e2ep'), proxyPort: 8196, environments: { prod: HOSTS } }, state);
    try {
      const result = await fresh.run(['details', '--env', 'prod', '--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      const shown = JSON.parse(result.stdout) as Details;
      expect(shown.current_release).toBeNull();
      expect(shown.lock).toEqual({ locked: false, holder: null });
      expect(shown.hosts).toEqual(HOSTS.map((address) => ({ address, reachable: true, roles: [], proxy: { container: null, target: null } })));
      const text = await fresh.run(['details', '--env', 'prod']);
      expect(text.stdout).toContain('current release: none (nothing deployed yet)');
      expect(text.stdout).toContain(`${HOSTS[0]}  no proxy\n  no app containers`);
      const prune = await fresh.run(['prune', '--env', 'prod']);
      expect(prune.exitCode, prune.stderr).toBe(0);
      for (const address of HOSTS) expect(hostSection(prune.stdout, address)).toBe('  nothing to remove');
      expect(prune.stdout).toContain('removed 0 containers and 0 images on 2 hosts; kept 0 app containers');
    } finally {
      await fresh.cleanup();
    }
  });

  it('bad arguments are user errors: --keep not a whole number, an unknown environment', async () => {
    for (const keep of ['-1', 'abc', '1.5']) {
      const result = await project.run(['prune', '--env', 'prod', '--keep', keep]);
      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).toContain('is not a whole number >= 0');
    }
    for (const command of [['details'], ['prune', '--dry-run']]) {
      const result = await project.run([...command, '--env', 'nope']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('nope');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prune refuses while the deploy lock is held, changing nothing', async () => {
    const before = await Promise.all(HOSTS.map((address) => serviceContainers(state, address, service)));
    ok(await project.run(['lock', 'acquire', '--env', 'prod', '-m', 'maintenance']));
    try {
      const refused = await project.run(['prune', '--env', 'prod', '--keep', '1']);
      expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
      expect(refused.stderr).toContain('message: "maintenance"');
    } finally {
      ok(await project.run(['lock', 'release', '--env', 'prod']));
    }
    expect(await Promise.all(HOSTS.map((address) => serviceContainers(state, address, service)))).toEqual(before);
  });

  it('prune --dry-run --keep 1 lists what would go and why, and changes nothing', async () => {
    const before = await Promise.all(HOSTS.map((address) => serviceContainers(state, address, service)));
    const tagsBefore = await Promise.all(HOSTS.map(imageVersions));
    const result = ok(await project.run(['prune', '--env', 'prod', '--keep', '1', '--dry-run']));
    expect(hostSection(result.stdout, HOSTS[1]!)).toContain(`  remove container ${service}-web-v2 `);
    expect(result.stdout).toContain(`  remove container ${service}-web-v1  web v1, exited: older than the newest 1 stopped web container`);
    expect(result.stdout).toContain(`  keep   container ${service}-web-v3  web v3, exited: kept for rollback`);
    expect(result.stdout).toContain(`  keep   container ${service}-web-v4  web v4, running: running, the proxy's target`);
    expect(result.stdout).toContain(`  remove image ${await imageName('v2')}: used only by containers this prune removes`);
    expect(result.stdout).toContain('dry run: nothing was removed');
    expect(await Promise.all(HOSTS.map((address) => serviceContainers(state, address, service)))).toEqual(before);
    expect(await Promise.all(HOSTS.map(imageVersions))).toEqual(tagsBefore);
  });

  it('prune --keep 1 leaves one old container per host, removes older ones and their images, never the proxy or a migration container', async () => {
    const repository = imageRepository(state, service);
    // A stopped migration one-off of v1 on the primary: not an app container, and it still needs the v1 image.
    const migrate = `${service}-migrate-main-v1`;
    const v1Image = (await onHostChecked(state, HOSTS[0]!, ['docker', 'inspect', '--format', '{{.Config.Image}}', `${service}-web-v1`])).trim();
    expect(v1Image.startsWith(`${repository}@sha256:`)).toBe(true);
    await onHostChecked(state, HOSTS[0]!, [
      'docker', 'create', '--name', migrate,
      '--label', `stagecraft.service=${service}`, '--label', 'stagecraft.environment=prod', '--label', 'stagecraft.role=migrate', '--label', 'stagecraft.version=v1',
      v1Image, 'true',
    ]);

    const result = ok(await project.run(['prune', '--env', 'prod', '--keep', '1']));
    expect(result.stdout.split('\n')[0]).toBe(`prune ${service}/prod: keep the newest 1 stopped app container per host and role`);
    for (const address of HOSTS) {
      const section = hostSection(result.stdout, address);
      expect(section).toContain(`  removed container ${service}-web-v1 (web v1, exited)`);
      expect(section).toContain(`  removed container ${service}-web-v2 (web v2, exited)`);
      expect(section).toContain(`  removed image ${await imageName('v2')}`);
      expect(section).not.toContain(`${service}-web-v3`);
    }
    expect(hostSection(result.stdout, HOSTS[1]!)).toContain(`  removed image ${await imageName('v1')}`);
    expect(hostSection(result.stdout, HOSTS[0]!)).not.toContain(`removed image ${await imageName('v1')}`);
    expect(result.stdout).toContain('removed 4 containers and 3 images on 2 hosts; kept 4 app containers');

    expect(await serviceContainers(state, HOSTS[0]!, service)).toEqual([migrate, `${service}-proxy`, `${service}-web-v3`, `${service}-web-v4`].sort());
    expect(await serviceContainers(state, HOSTS[1]!, service)).toEqual([`${service}-proxy`, `${service}-web-v3`, `${service}-web-v4`].sort());
    expect(await imageVersions(HOSTS[0]!)).toEqual(['v1', 'v3', 'v4']);
    expect(await imageVersions(HOSTS[1]!)).toEqual(['v3', 'v4']);
    expect(await servedVersions(HOSTS, PORT)).toEqual(Object.fromEntries(HOSTS.map((address) => [address, 'v4'])));

    // details agrees: one old container per host, still serving v4.
    for (const host of (await details()).hosts) {
      expect(host.roles[0]!.containers.map((c) => [c.version, c.health])).toEqual([['v4', 'serving'], ['v3', 'exited (0)']]);
    }

    for (const address of HOSTS) {
      const audit = (await onHostChecked(state, address, ['cat', '.stagecraft/audit.log'])).trim().split('\n');
      const line = audit.filter((entry) => entry.includes(`\t${service}\tprod\t`) && entry.includes('\tprune\t')).at(-1);
      expect(line, audit.join('\n')).toBeDefined();
      expect(line).toContain(`keep 1: removed 2 containers and ${address === HOSTS[0] ? 1 : 2} image`);
      expect(line).toContain(`${service}-web-v1`);
    }

    // Nothing left beyond keep: a second prune removes nothing, and says so per host.
    const again = ok(await project.run(['prune', '--env', 'prod', '--keep', '1']));
    for (const address of HOSTS) expect(hostSection(again.stdout, address)).toBe('  nothing to remove');
    await onHost(state, HOSTS[0]!, ['docker', 'rm', migrate]);
  });

  it('prune without --keep keeps retain old containers (default from stagecraft.yml)', async () => {
    await project.configure({ retain: 1 });
    ok(await project.run(['deploy', '--env', 'prod', '--version', 'v5']));
    // The deploy itself trims to retain 1; prune with the default then finds nothing more.
    const result = ok(await project.run(['prune', '--env', 'prod', '--dry-run']));
    expect(result.stdout).toContain('keep the newest 1 stopped app container per host and role');
    expect(result.stdout).not.toContain('remove container');
    for (const host of (await details()).hosts) {
      expect(host.roles[0]!.containers.map((c) => [c.version, c.health])).toEqual([['v5', 'serving'], ['v4', 'exited (0)']]);
    }
  });
});
