/**
 * The tool's own image: the top-level Dockerfile builds stagecraft with Node 20, the docker CLI and
 * an ssh client, and `docker run … stagecraft deploy` from it deploys the demo app to the testbed.
 * No Docker Hub here: the Dockerfile's two base images are given as build arguments, made on the
 * operator engine from the testbed's real Debian image plus this machine's Node 20, and from this
 * machine's static docker CLI. npm reaches its registry through this machine's TLS proxy, whose CA
 * goes in as EXTRA_CA_CERTS (as it would behind a corporate proxy).
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_DIR, REPO_ROOT, TestProject, servedVersions, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const HOST = '10.201.0.13';
const PORT = 8184;
const NODE_IMAGE = 'stagecraft-e2e/node:20-bookworm';
const DOCKER_CLI_IMAGE = 'stagecraft-e2e/docker-cli:local';
const TOOL_IMAGE = 'stagecraft-e2e/stagecraft:local';
const LOCAL_CAS = '/usr/local/share/ca-certificates';

async function dockerBuild(args: string[]): Promise<void> {
  const result = await execa('docker', ['build', '-q', ...args], { reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`docker build ${args.join(' ')} failed:\n${result.all}`);
}

/** A Debian bookworm image with this machine's Node 20 and npm, as node:20-bookworm-slim would have them. */
async function buildNodeImage(state: TestbedState): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), 'sc-e2e-node-'));
  try {
    await cp('/usr/bin/node', join(context, 'node'));
    await cp('/usr/lib/node_modules/npm', join(context, 'npm'), { recursive: true });
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${state.images.debian}`,
        'COPY node /usr/local/bin/node',
        'COPY npm /usr/local/lib/node_modules/npm',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version',
      ].join('\n'),
    );
    await dockerBuild(['-t', NODE_IMAGE, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function buildDockerCliImage(): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), 'sc-e2e-docker-cli-'));
  try {
    const { stdout } = await execa('sh', ['-c', 'command -v docker']);
    await cp(stdout.trim(), join(context, 'docker'));
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY docker /usr/local/bin/docker\n');
    await dockerBuild(['-t', DOCKER_CLI_IMAGE, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function extraCaCerts(): Promise<string> {
  const files = (await readdir(LOCAL_CAS).catch(() => [] as string[])).filter((name) => name.endsWith('.crt'));
  return (await Promise.all(files.map((name) => readFile(join(LOCAL_CAS, name), 'utf8')))).join('\n');
}

describe('the tool image', () => {
  let state: TestbedState;
  let project: TestProject;

  beforeAll(async () => {
    state = readTestbedState();
    await buildNodeImage(state);
    await buildDockerCliImage();
    const ca = await extraCaCerts();
    await dockerBuild([
      '--build-arg', `NODE_IMAGE=${NODE_IMAGE}`,
      '--build-arg', `DOCKER_CLI_IMAGE=${DOCKER_CLI_IMAGE}`,
      ...(ca ? ['--build-arg', `EXTRA_CA_CERTS=${ca}`] : []),
      '-t', TOOL_IMAGE, REPO_ROOT,
    ]);
    project = await TestProject.create({ service: uniqueService('e2et'), proxyPort: PORT, environments: { prod: [HOST] } }, state);
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('has Node 20, stagecraft, the docker CLI and an ssh client', async () => {
    const run = (entrypoint: string, ...args: string[]) => execa('docker', ['run', '--rm', '--entrypoint', entrypoint, TOOL_IMAGE, ...args]);
    expect((await run('node', '--version')).stdout).toMatch(/^v20\./);
    expect((await run('docker', '--version')).stdout).toMatch(/^Docker version/);
    expect((await run('ssh', '-V')).stderr).toMatch(/OpenSSH/);
    const help = await execa('docker', ['run', '--rm', TOOL_IMAGE]);
    expect(help.stdout).toContain('Usage: stagecraft');
  });

  it('docker run … stagecraft deploy deploys the demo app to the testbed', async () => {
    // The project's config names the testbed's key, known_hosts and the app's build context by
    // absolute path: they are mounted where the config says; the project itself is /workdir.
    const mounts = [
      '-v', `${project.dir}:/workdir`,
      '-v', '/var/run/docker.sock:/var/run/docker.sock',
      '-v', `${join(REPO_ROOT, '.testbed', 'ssh')}:${join(REPO_ROOT, '.testbed', 'ssh')}:ro`,
      '-v', `${HELLO_DIR}:${HELLO_DIR}:ro`,
    ];
    // --network host: the testbed's hosts are reachable from this machine's network only.
    const deploy = await execa('docker', ['run', '--rm', '--network', 'host', ...mounts, TOOL_IMAGE, 'deploy', '--env', 'prod', '--version', 'tool1'], { reject: false, all: true });
    expect(deploy.exitCode, deploy.all).toBe(0);
    expect(await servedVersions([HOST], PORT)).toEqual({ [HOST]: 'tool1' });
    const release = await project.lastRelease();
    expect(release).toMatchObject({ version: 'tool1', status: 'completed', kind: 'deploy' });
    expect(deploy.all).not.toContain(state.registry.password);
  });
});
