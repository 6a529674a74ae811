import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianPaths } from '../../testbed/debian.js';
import { DEBIAN_LOCAL_REF, INPUTS_LABEL, ROOTFS_LABEL, debianInputs, derivedInputs, DERIVED_IMAGES } from '../../testbed/debian-recipes.js';
import { engineRequest } from '../../testbed/docker-engine.js';
import { registryDigest } from '../../testbed/images.js';
import { OPERATOR_DOCKER_SOCKET, testbedLayout } from '../../testbed/layout.js';
import type { TestbedHost, TestbedState } from './helpers/testbed-state.js';
import { readTestbedState, sshArgv } from './helpers/testbed-state.js';

let state: TestbedState;
let host: TestbedHost;
let scratch: string;

/** A DOCKER_CONFIG of this test only (hosts share this machine's filesystem). */
function clientConfig(): string {
  return join(scratch, 'docker-config');
}

function ssh(words: readonly string[], input?: string) {
  return execa('ssh', [...sshArgv(state, host), ...words], { reject: false, input: input ?? '', timeout: 300_000 });
}

/** `docker run --rm REF ...` on the host, after pulling REF there from the testbed registry. */
async function runOnHost(ref: string, command: readonly string[]) {
  const pull = await ssh(['docker', '--config', clientConfig(), 'pull', '--quiet', ref]);
  expect(pull.exitCode, pull.stderr).toBe(0);
  return ssh(['docker', '--config', clientConfig(), 'run', '--rm', ref, ...command]);
}

async function labels(ref: string): Promise<Record<string, string>> {
  const response = await engineRequest(OPERATOR_DOCKER_SOCKET, 'GET', `/images/${ref}/json`);
  expect(response.status, `${ref} on the operator engine`).toBe(200);
  return (JSON.parse(response.body) as { Config?: { Labels?: Record<string, string> | null } }).Config?.Labels ?? {};
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  state = readTestbedState();
  host = state.hosts[0]!;
  scratch = mkdtempSync(join(tmpdir(), 'stagecraft-testbed-debian-'));
  const login = await ssh(['docker', '--config', clientConfig(), 'login', state.registry.server, '--username', state.registry.username, '--password-stdin'], state.registry.password);
  expect(login.exitCode, login.stderr).toBe(0);
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('Debian images in the testbed', () => {
  it('state.json names them and the registry serves each', async () => {
    expect(state.images.debian).toBe(`${state.registry.server}/testbed/debian:bookworm-slim`);
    expect(state.images.sqitch).toBe(`${state.registry.server}/testbed/sqitch:bookworm`);
    expect(state.images.pg_client).toBe(`${state.registry.server}/testbed/pg-client:bookworm`);
    for (const ref of [state.images.debian, state.images.sqitch, state.images.pg_client]) {
      expect(await registryDigest(ref, state.registry.password), ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  // The remote shell re-splits the words: each command below is plain words, no quoting needed.
  it('the base image pulled on a host is real Debian bookworm with apt and dpkg', async () => {
    const osRelease = await runOnHost(state.images.debian, ['cat', '/etc/os-release']);
    expect(osRelease.exitCode, osRelease.stderr).toBe(0);
    expect(osRelease.stdout).toMatch(/^VERSION_CODENAME=bookworm$/m);
    expect(osRelease.stdout).toMatch(/^ID=debian$/m);
    const apt = await ssh(['docker', '--config', clientConfig(), 'run', '--rm', state.images.debian, 'dpkg', '--status', 'apt']);
    expect(apt.exitCode, apt.stderr).toBe(0);
    expect(apt.stdout).toMatch(/^Status: install ok installed$/m);
  });

  it('testbed/sqitch:bookworm runs `sqitch --version` and has the Pg driver and psql', async () => {
    const run = (command: readonly string[]) => ssh(['docker', '--config', clientConfig(), 'run', '--rm', state.images.sqitch, ...command]);
    const osRelease = await runOnHost(state.images.sqitch, ['cat', '/etc/os-release']);
    expect(osRelease.stdout).toMatch(/^VERSION_CODENAME=bookworm$/m);
    const sqitch = await run(['sqitch', '--version']);
    expect(sqitch.exitCode, `${sqitch.stdout}\n${sqitch.stderr}`).toBe(0);
    expect(sqitch.stdout).toMatch(/^sqitch \(App::Sqitch\) v?\d+\.\d+/m);
    const driver = await run(['perl', '-MDBD::Pg', '-e1']);
    expect(driver.exitCode, driver.stderr).toBe(0);
    const psql = await run(['psql', '--version']);
    expect(psql.exitCode, psql.stderr).toBe(0);
    expect(psql.stdout).toMatch(/^psql \(PostgreSQL\) \d+/);
  });

  it('testbed/pg-client:bookworm runs `pg_dump --version`', async () => {
    const result = await runOnHost(state.images.pg_client, ['pg_dump', '--version']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
  });

  it('the root filesystem tarball is cached under the testbed dir and the images are labelled with its hash', async () => {
    const paths = debianPaths(testbedLayout(state.dir));
    expect(paths.tarball.startsWith(`${state.dir}/`)).toBe(true);
    expect(existsSync(paths.tarball)).toBe(true);
    const meta = JSON.parse(readFileSync(paths.meta, 'utf8')) as { sha256: string; bytes: number };
    const sha = await sha256File(paths.tarball);
    expect(sha).toBe(meta.sha256);
    for (const ref of [DEBIAN_LOCAL_REF, state.images.debian]) {
      const found = await labels(ref);
      expect(found[INPUTS_LABEL], ref).toBe(debianInputs(sha));
      expect(found[ROOTFS_LABEL], ref).toBe(sha);
    }
    for (const image of DERIVED_IMAGES) {
      expect((await labels(image.ref))[INPUTS_LABEL], image.ref).toBe(derivedInputs(image, sha));
    }
  });
});
