import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { ensureOperatorEngine, preflightOperatorEngine } from './docker-engine.js';
import { TestbedError, ensureSystemPath } from './exec.js';
import { ensureHost, hostContract, knownHostIndexes, stopHost } from './hosts.js';
import { allRecipes } from './image-recipes.js';
import { describeDebian, describeDerived, ensureDebianBase, ensureDerivedImages } from './debian.js';
import { ensureImages } from './images.js';
import type { TestbedLayout } from './layout.js';
import { DEFAULT_HOST_COUNT, MAX_HOST_COUNT, OPERATOR_DOCKER_SOCKET, REGISTRY_USER, POSTGRES_DATABASE, POSTGRES_USER, NETWORK, testbedLayout } from './layout.js';
import { withTestbedLock } from './lock.js';
import { ensureBridge } from './network.js';
import { ensurePackages } from './packages.js';
import { ensurePostgres, postgresUrls } from './postgres.js';
import { REGISTRY_SERVER, ensureRegistry } from './registry.js';
import type { Reporter } from './report.js';
import { consoleReporter, formatMs } from './report.js';
import { ensureClientKey, writeKnownHosts } from './sshd.js';
import type { TestbedState } from './state.js';
import { loadOrCreateSecrets, readStateFile, saveSecrets, writeStateFile } from './state.js';

export interface UpOptions {
  hosts?: number;
  /**
   * Also build debian:bookworm-slim (debootstrap, about 1–4 min the first time, seconds from the
   * cached root filesystem) and the sqitch and pg-client images derived from it. The e2e suite asks
   * for them; the demo does not need them.
   */
  debian?: boolean;
  layout?: TestbedLayout;
  reporter?: Reporter;
}

export function validateHostCount(hosts: number): number {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOST_COUNT) {
    throw new TestbedError(`--hosts must be a whole number from 1 to ${MAX_HOST_COUNT} (got ${hosts})`);
  }
  return hosts;
}

/**
 * Like Promise.all, but waits for every step to finish before reporting the first failure, so
 * no daemon is left half-started while the process exits.
 */
async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Converges the machine to a running testbed of `hosts` hosts: every component that already
 * runs (checked by pid file + command line + a live probe) is left alone, anything missing or
 * dead is (re)started, hosts beyond the count are taken down. Safe to run again at any time.
 */
export async function up(options: UpOptions = {}): Promise<TestbedState> {
  ensureSystemPath();
  const hostCount = validateHostCount(options.hosts ?? DEFAULT_HOST_COUNT);
  const layout = options.layout ?? testbedLayout();
  const reporter = options.reporter ?? consoleReporter();
  const started = performance.now();

  await reporter.step('packages', () => ensurePackages((line) => reporter.note(line), join(layout.dir, 'logs', 'packages.log')));
  if (process.getuid?.() !== 0) throw new TestbedError('testbed up must run as root (it creates network namespaces and starts daemons)');
  mkdirSync(layout.dir, { recursive: true });

  const state = await withTestbedLock(
    layout.lockFile,
    (owner) => reporter.note(`waiting for another testbed command (pid ${owner})`),
    async () => {
      await preflightOperatorEngine();
      const secrets = loadOrCreateSecrets(layout.secretsFile);
      await reporter.step(`bridge ${NETWORK.bridge} ${NETWORK.gatewayAddress}/${NETWORK.prefixLength}`, ensureBridge);
      await reporter.step('ssh client key', () => ensureClientKey(layout));

      const wanted = Array.from({ length: hostCount }, (_, i) => layout.host(i + 1));
      const extra = (await knownHostIndexes(layout)).filter((index) => index > hostCount).map((index) => layout.host(index));
      if (extra.length > 0) {
        await reporter.step(`remove hosts ${extra.map((host) => host.name).join(' ')}`, async () => {
          await Promise.all(extra.map((host) => stopHost(host)));
        });
      }

      const [operator, registry, postgres, hosts] = await settleAll([
        reporter.step('operator dockerd', () => ensureOperatorEngine(layout), (engine) => engine.detail),
        reporter.step(`registry ${REGISTRY_SERVER}`, () => ensureRegistry(layout, secrets), (running) => running.detail),
        reporter.step('postgres', () => ensurePostgres(layout, secrets), (running) => `${running.detail}, port ${running.port}`),
        settleAll(wanted.map((host) => reporter.step(`host ${host.name} ${host.address}`, () => ensureHost(layout, host), (running) => running.detail))),
      ]);
      saveSecrets(layout.secretsFile, secrets);
      writeKnownHosts(layout, wanted);

      const recipes = await reporter.step('image recipes', () => allRecipes());
      await reporter.step(
        'images (build + push)',
        () => ensureImages(layout, recipes, secrets.registry_password),
        (outcomes) => outcomes.map((image) => `${image.ref.split('/').pop()}: ${image.built ? 'built' : 'unchanged'}${image.pushed ? ', pushed' : ''}`).join('; '),
      );
      const imageRef = (key: string): string => recipes.find((recipe) => recipe.key === key)?.ref ?? '';
      // Without --debian, refs of Debian images an earlier up built stay in the state.
      const earlier = readStateFile(layout.stateFile)?.images;
      let debianImages = { debian: earlier?.debian ?? '', sqitch: earlier?.sqitch ?? '', pg_client: earlier?.pg_client ?? '' };
      if (options.debian === true) {
        const debian = await reporter.step('debian:bookworm-slim (debootstrap, import, push)', () => ensureDebianBase(layout, secrets.registry_password, (line) => reporter.note(line)), describeDebian);
        const derived = await reporter.step('debian images (sqitch, pg-client)', () => ensureDerivedImages(layout, debian.rootfs.sha256, secrets.registry_password, (line) => reporter.note(line)), describeDerived);
        const derivedRef = (key: string): string => derived.find((image) => image.key === key)?.ref ?? '';
        debianImages = { debian: debian.refs.debian, sqitch: derivedRef('sqitch'), pg_client: derivedRef('pg_client') };
      }

      const urls = postgresUrls(postgres.port, secrets);
      const next: TestbedState = {
        version: 1,
        dir: layout.dir,
        hosts: wanted.map(hostContract),
        ssh: { user: 'root', key: layout.clientKey, known_hosts: layout.knownHosts },
        registry: { server: REGISTRY_SERVER, username: REGISTRY_USER, password: secrets.registry_password },
        postgres: {
          ...urls,
          host: NETWORK.gatewayAddress,
          port: postgres.port,
          user: POSTGRES_USER,
          password: secrets.postgres_password,
          database: POSTGRES_DATABASE,
        },
        images: {
          busybox: imageRef('busybox'),
          node: imageRef('node'),
          nginx: imageRef('nginx'),
          ...debianImages,
        },
        pids: {
          ...(operator.startedPid !== undefined ? { operator_dockerd: operator.startedPid } : {}),
          registry: registry.pid,
          postgres: postgres.pid,
          hosts: Object.fromEntries(hosts.map((running) => [running.host.name, { dockerd: running.dockerdPid, sshd: running.sshdPid }])),
        },
        operator_docker_host: `unix://${OPERATOR_DOCKER_SOCKET}`,
        operator_dockerd_started: operator.startedPid !== undefined,
        updated_at: new Date().toISOString(),
      };
      writeStateFile(layout.stateFile, next);
      return next;
    },
  );
  reporter.note(`up: ${hostCount} host(s) in ${formatMs(performance.now() - started)}; state in ${layout.stateFile}`);
  return state;
}
