import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { credentialsFor, normalizeRegistryServer, registryHostOf } from '../../../src/plan/image-ref.js';
import { DockerOps, type RegistryAuth } from '../../../src/remote/docker-ops.js';

/**
 * Registry credentials go with a pull only when the image's registry host is `registry.server`,
 * normalised the way docker does (no host = Docker Hub = docker.io = index.docker.io).
 */
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const auth = (server: string): RegistryAuth => ({ username: 'deploy', password: 'registry-pass-canary', serveraddress: server });

describe('registryHostOf', () => {
  it.each([
    ['busybox', 'docker.io'],
    ['nginx:1.27', 'docker.io'],
    [`nginx@${DIGEST}`, 'docker.io'],
    ['acme/app:1', 'docker.io'],
    ['library/nginx', 'docker.io'],
    ['docker.io/library/nginx', 'docker.io'],
    ['index.docker.io/library/nginx', 'docker.io'],
    ['registry-1.docker.io/acme/app', 'docker.io'],
    ['reg.example.com/acme/app:1', 'reg.example.com'],
    ['Reg.Example.com/acme/app', 'reg.example.com'],
    [`10.201.0.1:5000/e2e/app@${DIGEST}`, '10.201.0.1:5000'],
    ['localhost/app', 'localhost'],
    ['localhost:5000/app:1', 'localhost:5000'],
    ['Registry/app', 'registry'],
    ['evil.io/reg.example.com/app', 'evil.io'],
  ])('%s is on %s', (ref, host) => {
    expect(registryHostOf(ref)).toBe(host);
  });
});

describe('normalizeRegistryServer', () => {
  it.each([
    ['reg.example.com', 'reg.example.com'],
    ['REG.example.com:5000', 'reg.example.com:5000'],
    ['https://reg.example.com/', 'reg.example.com'],
    ['http://10.201.0.1:5000', '10.201.0.1:5000'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    [' reg.example.com ', 'reg.example.com'],
  ])('%s → %s', (server, normal) => {
    expect(normalizeRegistryServer(server)).toBe(normal);
  });
});

describe('credentialsFor: the one rule for sending registry credentials', () => {
  const cases: [ref: string, server: string, sent: boolean][] = [
    // Same registry: sent.
    ['reg.example.com/acme/app:abc1234', 'reg.example.com', true],
    [`reg.example.com/acme/app@${DIGEST}`, 'reg.example.com', true],
    [`10.201.0.1:5000/e2e/app@${DIGEST}`, '10.201.0.1:5000', true],
    ['10.201.0.1:5000/e2e/app:1', 'http://10.201.0.1:5000/', true],
    ['REG.example.com/acme/app', 'reg.example.com', true],
    ['localhost:5000/app', 'localhost:5000', true],
    ['nginx:1.27', 'docker.io', true],
    ['nginx:1.27', 'https://index.docker.io/v1/', true],
    ['acme/app:1', 'index.docker.io', true],
    ['docker.io/acme/app', 'registry-1.docker.io', true],
    // Another registry: never sent.
    ['nginx:1.27', 'reg.example.com', false],
    ['10.201.0.1:5000/testbed/nginx:latest', 'reg.example.com', false],
    ['reg.example.com:5000/acme/app', 'reg.example.com', false],
    ['reg.example.com/acme/app', 'reg.example.com:5000', false],
    ['reg.example.com.evil.io/acme/app', 'reg.example.com', false],
    ['reg.example.com/acme/app', 'reg.example.com.evil.io', false],
    ['evil.io/reg.example.com/app', 'reg.example.com', false],
    ['acme/app', 'acme', false],
    ['other.example.com/acme/app', 'docker.io', false],
    ['ghcr.io/acme/app', 'reg.example.com', false],
    ['reg.example.com/app', '', false],
  ];
  it.each(cases)('%s with registry.server %s → sent: %s', (ref, server, sent) => {
    expect(credentialsFor(ref, auth(server))).toEqual(sent ? auth(server) : undefined);
  });

  it('no credentials configured: none sent', () => {
    expect(credentialsFor('reg.example.com/app', undefined)).toBeUndefined();
  });
});

/** A Docker API that records what each pull sent and answers with an empty progress stream. */
function recordingDocker(): { docker: Dockerode; pulls: { auth: unknown; fromImage: string; tag: string }[] } {
  const pulls: { auth: unknown; fromImage: string; tag: string }[] = [];
  const docker = {
    createImage: (...args: unknown[]) => {
      const [authOrOptions, maybeOptions] = args;
      const options = (maybeOptions ?? authOrOptions) as { fromImage: string; tag: string };
      pulls.push({ auth: maybeOptions === undefined ? undefined : authOrOptions, fromImage: options.fromImage, tag: options.tag });
      return Promise.resolve(Readable.from([JSON.stringify({ status: 'Downloaded' }) + '\n']));
    },
    getImage: () => ({ inspect: () => Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })) }),
  };
  return { docker: docker as unknown as Dockerode, pulls };
}

describe('DockerOps.pullImage applies the rule for every caller', () => {
  it.each([
    ['the app image on registry.server', 'reg.example.com/acme/app:abc1234', true],
    ['a rollback to a ref recorded on another registry', `old-registry.example.com/acme/app@${DIGEST}`, false],
    ['--skip-build with an image on Docker Hub', 'acme/app:1', false],
    ['the proxy image from Docker Hub', 'nginx:1.27', false],
    ['a migration image on a look-alike host', 'reg.example.com.evil.io/acme/app:1', false],
  ])('%s (%s): credentials sent = %s', async (_what, ref, sent) => {
    const { docker, pulls } = recordingDocker();
    const ops = new DockerOps(docker, { name: 'h1' });
    await ops.pullImage(ref, auth('reg.example.com'));
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.auth).toEqual(sent ? auth('reg.example.com') : undefined);
  });
});
