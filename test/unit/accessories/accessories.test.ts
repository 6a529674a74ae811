import { describe, expect, it } from 'vitest';
import { accessorySpec, containerCreateOptions, envForDisplay, parsePort, parseVolume } from '../../../src/accessories/spec.js';
import { accessoryPlanJson, formatAccessoryPlan, planAccessories, selectAccessories } from '../../../src/accessories/plan.js';
import { detailsOf, publishedPorts } from '../../../src/accessories/details.js';
import { sinceSeconds } from '../../../src/cli/commands/accessory.js';
import type { AccessoryConfig } from '../../../src/config/schema.js';
import type Dockerode from 'dockerode';

const db: AccessoryConfig = {
  image: 'postgres:16',
  host: 'primary',
  port: '127.0.0.1:5433:5432',
  env: { clear: { POSTGRES_USER: 'app' }, secret: ['POSTGRES_PASSWORD'] },
  volumes: ['pgdata:/var/lib/postgresql/data', '/srv/init:/docker-entrypoint-initdb.d:ro'],
  cmd: ['postgres', '-c', 'max_connections=200'],
};

const spec = accessorySpec({ service: 'hello', environment: 'prod', primary: '10.0.0.1', name: 'db', config: db, secretEnv: { POSTGRES_PASSWORD: 's3cret' } });

describe('accessory container spec', () => {
  it('names, labels and resolves the host', () => {
    expect(spec.container).toBe('hello-db');
    expect(spec.host).toBe('10.0.0.1');
    expect(spec.network).toBe('hello-net');
    expect(spec.labels).toEqual({
      'stagecraft.service': 'hello',
      'stagecraft.environment': 'prod',
      'stagecraft.role': 'accessory',
      'stagecraft.accessory': 'db',
    });
    expect(accessorySpec({ service: 'hello', environment: 'prod', primary: '10.0.0.1', name: 'db', config: { ...db, host: '10.0.0.2' }, secretEnv: {} }).host).toBe('10.0.0.2');
  });

  it('builds the Docker create request: argv, env in the body, port, volumes, restart policy, network alias', () => {
    expect(containerCreateOptions(spec)).toEqual({
      name: 'hello-db',
      Image: 'postgres:16',
      Cmd: ['postgres', '-c', 'max_connections=200'],
      Env: ['POSTGRES_USER=app', 'POSTGRES_PASSWORD=s3cret'],
      Labels: spec.labels,
      ExposedPorts: { '5432/tcp': {} },
      HostConfig: {
        NetworkMode: 'hello-net',
        RestartPolicy: { Name: 'unless-stopped' },
        Binds: ['pgdata:/var/lib/postgresql/data', '/srv/init:/docker-entrypoint-initdb.d:ro'],
        PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '5433' }] },
      },
      NetworkingConfig: { EndpointsConfig: { 'hello-net': { Aliases: ['db'] } } },
    });
  });

  it('leaves out what is not configured (no cmd: the image default; no port: nothing published)', () => {
    const bare = accessorySpec({ service: 's', environment: 'e', primary: 'h', name: 'cache', config: { image: 'redis:7', host: 'primary', env: { clear: {}, secret: [] }, volumes: [] }, secretEnv: {} });
    expect(containerCreateOptions(bare)).toEqual({
      name: 's-cache',
      Image: 'redis:7',
      Env: [],
      Labels: bare.labels,
      HostConfig: { NetworkMode: 's-net', RestartPolicy: { Name: 'unless-stopped' } },
      NetworkingConfig: { EndpointsConfig: { 's-net': { Aliases: ['cache'] } } },
    });
  });

  it('parses ports and volumes', () => {
    expect(parsePort(6379)).toEqual({ hostIp: '', host: 6379, container: 6379 });
    expect(parsePort('8199:80')).toEqual({ hostIp: '', host: 8199, container: 80 });
    expect(parsePort(undefined)).toBeUndefined();
    expect(parseVolume('data:/data')).toEqual({ kind: 'named', source: 'data', target: '/data', readOnly: false, bind: 'data:/data' });
    expect(parseVolume('/srv/x:/x:ro')).toEqual({ kind: 'bind', source: '/srv/x', target: '/x', readOnly: true, bind: '/srv/x:/x:ro' });
  });

  it('shows secret names, never their values', () => {
    expect(envForDisplay(spec)).toEqual(['POSTGRES_USER=app', 'POSTGRES_PASSWORD=[secret]']);
  });
});

describe('accessory plans', () => {
  const options = { environment: 'prod', registryServer: 'registry.example.com' };

  it('boot: network, pull (no registry login for another registry), named volumes only, create, start', () => {
    expect(planAccessories('boot', [spec], options).accessories[0]!.steps).toEqual([
      { action: 'ensure-network', network: 'hello-net' },
      { action: 'pull', image: 'postgres:16', registry_login: false },
      { action: 'create-volume', volume: 'pgdata' },
      { action: 'create', container: 'hello-db' },
      { action: 'start', container: 'hello-db' },
    ]);
  });

  it('pulls with the registry login only for an image on registry.server', () => {
    const own = { ...spec, image: 'registry.example.com/acme/pg:16' };
    expect(planAccessories('boot', [own], options).accessories[0]!.steps[1]).toEqual({ action: 'pull', image: 'registry.example.com/acme/pg:16', registry_login: true });
  });

  it('reboot stops and removes the container, then boots: no volume is removed', () => {
    const steps = planAccessories('reboot', [spec], options).accessories[0]!.steps;
    expect(steps.map((step) => step.action)).toEqual(['stop', 'remove', 'ensure-network', 'pull', 'create-volume', 'create', 'start']);
  });

  it('remove keeps volumes unless --volumes, and then only named ones', () => {
    expect(planAccessories('remove', [spec], options).accessories[0]!.steps.map((step) => step.action)).toEqual(['stop', 'remove']);
    const plan = planAccessories('remove', [spec], { ...options, removeVolumes: true });
    expect(plan.removeVolumes).toBe(true);
    expect(plan.accessories[0]!.steps).toEqual([
      { action: 'stop', container: 'hello-db' },
      { action: 'remove', container: 'hello-db' },
      { action: 'remove-volume', volume: 'pgdata' },
    ]);
    expect(planAccessories('stop', [spec], { ...options, removeVolumes: true }).removeVolumes).toBe(false);
  });

  it('prints the plan and its JSON without secret values', () => {
    const plan = planAccessories('boot', [spec], options);
    const text = formatAccessoryPlan(plan);
    expect(text).toContain('db on 10.0.0.1: hello-db (postgres:16)');
    expect(text).toContain('port: 127.0.0.1:5433->5432/tcp');
    expect(text).toContain('env: POSTGRES_USER=app POSTGRES_PASSWORD=[secret]');
    expect(text).toContain('3. volume pgdata (created when missing, kept across reboot)');
    const json = JSON.stringify(accessoryPlanJson(plan));
    expect(text + json).not.toContain('s3cret');
    expect(json).toContain('"secret":["POSTGRES_PASSWORD"]');
  });

  it('selects one accessory or all; an unknown name lists the configured ones', () => {
    const loaded = { environment: 'prod', config: { accessories: { db, cache: db } } } as never;
    expect(selectAccessories(loaded, 'db')).toEqual(['db']);
    expect(selectAccessories(loaded, 'all')).toEqual(['db', 'cache']);
    expect(() => selectAccessories(loaded, 'redis')).toThrow('unknown accessory "redis" for environment "prod" (accessories: db, cache)');
    expect(() => selectAccessories({ environment: 'prod', config: { accessories: {} } } as never, 'db')).toThrow('no accessories are configured');
  });
});

describe('accessory details', () => {
  it('says "not booted" without a container', () => {
    expect(detailsOf(spec, undefined)).toMatchObject({ state: 'not booted', running_image: null, ports: [], volumes: [] });
  });

  it('reads state, ports and mounts from docker inspect', () => {
    const info = {
      Config: { Image: 'postgres:15', Labels: spec.labels },
      State: { Status: 'running', Running: true, StartedAt: '2026-01-02T03:04:05Z' },
      HostConfig: { PortBindings: { '5432/tcp': [{ HostIp: '', HostPort: '5433' }] } },
      Mounts: [{ Type: 'volume', Name: 'pgdata', Source: '/var/lib/docker/volumes/pgdata/_data', Destination: '/var/lib/postgresql/data', RW: true }],
    } as unknown as Dockerode.ContainerInspectInfo;
    expect(detailsOf(spec, info)).toEqual({
      name: 'db',
      host: '10.0.0.1',
      container: 'hello-db',
      image: 'postgres:16',
      running_image: 'postgres:15',
      state: 'running',
      started_at: '2026-01-02T03:04:05Z',
      ports: ['0.0.0.0:5433->5432/tcp'],
      volumes: [{ kind: 'volume', source: 'pgdata', destination: '/var/lib/postgresql/data', read_only: false }],
    });
    expect(publishedPorts(undefined)).toEqual([]);
  });
});

describe('logs --since', () => {
  it('takes a duration back from now or a timestamp', () => {
    const now = Date.parse('2026-01-02T10:00:00Z');
    expect(sinceSeconds('10m', now)).toBe(now / 1000 - 600);
    expect(sinceSeconds('2026-01-02T09:00:00Z', now)).toBe(now / 1000 - 3600);
    expect(sinceSeconds(undefined, now)).toBeUndefined();
    expect(() => sinceSeconds('yesterday', now)).toThrow('--since "yesterday" is neither a duration');
  });
});
