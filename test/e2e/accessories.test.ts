/**
 * Accessories on the real testbed (issue 14): a busybox httpd whose document root is a named
 * volume. boot / details / logs / reboot / stop / remove through the built CLI; a deploy and a
 * rollback leave the accessory's container alone; the data in the volume survives `reboot`; every
 * changing command leaves its audit line on the accessory's host, a failing one included.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  configDocument,
  fetchText,
  inspectOnHost,
  onHost,
  onHostChecked,
  TestProject,
  uniqueService,
  type CliResult,
} from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';
import { waitUntil } from '../helpers/wait.js';

const HOST = '10.201.0.13';
const PROXY_PORT = 8198;
const ACCESSORY_PORT = 8199;
const TOKEN = `store-token-${Math.random().toString(36).slice(2, 12)}`;

interface Inspected {
  Id: string;
  Args: string[];
  Config: { Env: string[]; Labels: Record<string, string> };
  State: { Running: boolean };
  HostConfig: { RestartPolicy: { Name: string } };
  NetworkSettings: { Networks: Record<string, { Aliases: string[] | null }> };
}

let state: TestbedState;
let project: TestProject;
let service: string;
let container: string;
let volume: string;

function accessoryConfig(image: string): Record<string, unknown> {
  return {
    store: {
      image,
      host: 'primary',
      port: `${ACCESSORY_PORT}:80`,
      env: { clear: { GREETING: 'hello from the store' }, secret: ['STORE_TOKEN'] },
      volumes: [`${volume}:/data`],
      // `$$` is a literal `$` in stagecraft.yml: the shell in the container expands it.
      cmd: ['sh', '-c', 'mkdir -p /data/www && date >> /data/www/boots.txt && echo "store up: $$GREETING" && exec httpd -f -p 80 -h /data/www'],
    },
  };
}

/** The project's stagecraft.yml plus `accessories:`, and the accessory's secret in .stagecraft/secrets. */
async function writeConfig(image = state.images.busybox): Promise<void> {
  await writeFile(project.configPath, stringify({ ...configDocument(project.spec, state), accessories: accessoryConfig(image) }));
  await writeFile(join(project.dir, '.stagecraft', 'secrets'), `REGISTRY_PASSWORD='${state.registry.password}'\nSTORE_TOKEN='${TOKEN}'\n`, { mode: 0o600 });
}

async function inspect(): Promise<Inspected | undefined> {
  return (await inspectOnHost(state, HOST, container)) as unknown as Inspected | undefined;
}

async function boots(): Promise<string[]> {
  const { status, body } = await fetchText(HOST, ACCESSORY_PORT, '/boots.txt');
  return status === 200 ? body.trim().split('\n') : [];
}

async function auditLines(): Promise<string[]> {
  const result = await onHost(state, HOST, ['cat', '.stagecraft/audit.log']);
  return result.stdout.split('\n').filter((line) => line.includes(`\t${service}\t`) && line.includes('accessory'));
}

function expectNoToken(result: CliResult): void {
  expect(result.stdout + result.stderr).not.toContain(TOKEN);
}

beforeAll(async () => {
  state = readTestbedState();
  service = uniqueService('e2ea');
  container = `${service}-store`;
  volume = `${service}-data`;
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { prod: [HOST] } }, state);
  await writeConfig();
}, 120_000);

afterAll(async () => {
  await project?.cleanup();
  if (volume) await onHost(state, HOST, ['docker', 'volume', 'rm', '-f', volume]);
}, 120_000);

describe('stagecraft accessory', () => {
  it('refuses an unknown accessory, listing the configured ones, and logs of one not booted', async () => {
    const unknown = await project.run(['accessory', 'boot', 'stor', '--env', 'prod']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown accessory "stor" for environment "prod" (accessories: store)');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);

    const logs = await project.run(['accessory', 'logs', 'store', '--env', 'prod']);
    expect(logs.exitCode).toBe(1);
    expect(logs.stderr).toContain(`accessory store is not booted on ${HOST} (no container ${container})`);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const dry = await project.run(['accessory', 'boot', 'store', '--env', 'prod', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`store on ${HOST}: ${container} (${state.images.busybox})`);
    expect(dry.stdout).toContain(`pull ${state.images.busybox} with the registry login`);
    expect(dry.stdout).toContain('STORE_TOKEN=[secret]');
    expectNoToken(dry);
    expect(await inspect()).toBeUndefined();
  });

  it('boots the accessory: labelled, on the service network, env through the API, port published; booting again says so', async () => {
    const booted = await project.run(['accessory', 'boot', 'store', '--env', 'prod']);
    expect(booted.stderr).toBe('');
    expect(booted.exitCode).toBe(0);
    expect(booted.stdout).toContain(`store on ${HOST}: booted`);
    expectNoToken(booted);

    const info = await inspect();
    expect(info?.State.Running).toBe(true);
    expect(info?.Config.Labels).toMatchObject({
      'stagecraft.service': service,
      'stagecraft.environment': 'prod',
      'stagecraft.role': 'accessory',
      'stagecraft.accessory': 'store',
    });
    expect(info?.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(info?.NetworkSettings.Networks[`${service}-net`]?.Aliases).toContain('store');
    expect(info?.Config.Env).toContain(`STORE_TOKEN=${TOKEN}`);
    expect(info?.Args.join(' ')).not.toContain(TOKEN);
    await waitUntil('the accessory serving boots.txt', async () => (await boots()).length === 1, { timeoutMs: 20_000, intervalMs: 200 });

    const labels = await onHostChecked(state, HOST, ['docker', 'volume', 'inspect', '--format', "'{{json .Labels}}'", volume]);
    expect(JSON.parse(labels)).toMatchObject({ 'stagecraft.service': service, 'stagecraft.accessory': 'store' });

    const again = await project.run(['accessory', 'boot', 'store', '--env', 'prod']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`${container} is already running`);
    expect((await inspect())?.Id).toBe(info?.Id);
  }, 120_000);

  it('details and logs read it', async () => {
    const details = await project.run(['accessory', 'details', 'store', '--env', 'prod', '--json']);
    expect(details.exitCode).toBe(0);
    const [read] = JSON.parse(details.stdout) as { state: string; running_image: string; ports: string[]; volumes: { source: string; destination: string }[] }[];
    expect(read).toMatchObject({ state: 'running', running_image: state.images.busybox, ports: [`0.0.0.0:${ACCESSORY_PORT}->80/tcp`] });
    expect(read?.volumes).toContainEqual(expect.objectContaining({ source: volume, destination: '/data' }));

    const text = await project.run(['accessory', 'details', 'all', '--env', 'prod']);
    expect(text.stdout).toContain('state:   running');

    await waitUntil(
      "the accessory's first output line in its logs",
      async () => (await project.run(['accessory', 'logs', 'store', '--env', 'prod', '--lines', '5'])).stdout.includes('store up: hello from the store'),
      { timeoutMs: 20_000, intervalMs: 500 },
    );
  }, 60_000);

  it('deploy and rollback leave the accessory alone', async () => {
    const before = (await inspect())?.Id;
    const deploy = await project.run(['deploy', '--env', 'prod', '--version', 'v1']);
    expect(deploy.stderr).not.toMatch(/error/i);
    expect(deploy.exitCode).toBe(0);
    expect((await inspect())?.Id).toBe(before);

    const release = await project.lastRelease();
    const rollback = await project.run(['rollback', '--env', 'prod', '--to', release.id]);
    expect(rollback.exitCode).toBe(0);
    const after = await inspect();
    expect(after?.Id).toBe(before);
    expect(after?.State.Running).toBe(true);
    // The app reaches the accessory by name on the service network.
    const apps = await onHostChecked(state, HOST, ['docker', 'ps', '--filter', `label=stagecraft.service=${service}`, '--filter', 'label=stagecraft.role=web', '--format', '{{.Names}}']);
    const app = apps.trim().split('\n')[0]!;
    // The remote shell re-splits the words: the script is one single-quoted word.
    const script = "'fetch(\"http://store/boots.txt\").then((r) => r.text()).then((t) => console.log(t.trim().split(String.fromCharCode(10)).length))'";
    const reached = await onHost(state, HOST, ['docker', 'exec', app, 'node', '-e', script]);
    expect(reached.stdout.trim()).toBe('1');
  }, 300_000);

  it('reboot makes a new container and keeps the data in the volume', async () => {
    const before = (await inspect())?.Id;
    await onHostChecked(state, HOST, ['docker', 'exec', container, 'sh', '-c', "'echo kept-across-reboot > /data/www/marker.txt'"]);

    const rebooted = await project.run(['accessory', 'reboot', 'store', '--env', 'prod']);
    expect(rebooted.exitCode).toBe(0);
    expect(rebooted.stdout).toContain(`store on ${HOST}: rebooted`);
    const after = await inspect();
    expect(after?.Id).not.toBe(before);
    expect(after?.State.Running).toBe(true);

    await waitUntil('the second boot recorded in the volume', async () => (await boots()).length === 2, { timeoutMs: 20_000, intervalMs: 200 });
    expect(await fetchText(HOST, ACCESSORY_PORT, '/marker.txt')).toEqual({ status: 200, body: 'kept-across-reboot\n' });
  }, 120_000);

  it('stop, then remove --volumes asks first (refused without a terminal) and removes the volume with --yes', async () => {
    const stopped = await project.run(['accessory', 'stop', 'store', '--env', 'prod']);
    expect(stopped.exitCode).toBe(0);
    expect((await inspect())?.State.Running).toBe(false);
    const again = await project.run(['accessory', 'stop', 'store', '--env', 'prod']);
    expect(again.stdout).toContain('already stopped');

    const refused = await project.run(['accessory', 'remove', 'store', '--env', 'prod', '--volumes']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('no terminal to ask');
    expect(await inspect()).toBeDefined();

    const removed = await project.run(['accessory', 'remove', 'store', '--env', 'prod', '--volumes', '--yes']);
    expect(removed.exitCode).toBe(0);
    expect(removed.stdout).toContain(`volume ${volume} removed`);
    expect(await inspect()).toBeUndefined();
    expect((await onHost(state, HOST, ['docker', 'volume', 'inspect', volume])).exitCode).not.toBe(0);
  }, 120_000);

  it('a failing boot exits 5 and is audited like every changing command', async () => {
    await writeConfig(`${state.registry.server}/e2e/${service}-missing:nope`);
    const failed = await project.run(['accessory', 'boot', 'store', '--env', 'prod']);
    expect(failed.exitCode).toBe(5);
    expect(failed.stderr).toContain(`${service}-missing:nope`);
    expectNoToken(failed);
    await writeConfig();

    const lines = await auditLines();
    expect(lines.map((line) => line.split('\t')[5])).toEqual([
      'accessory boot',
      'accessory boot',
      'accessory reboot',
      'accessory stop',
      'accessory stop',
      'accessory remove --volumes',
      'accessory boot',
    ]);
    expect(lines.at(-1)).toContain('store (');
    expect(lines.at(-1)).toContain('failed:');
    expect(lines.join('\n')).not.toContain(TOKEN);
  }, 120_000);
});
