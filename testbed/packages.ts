import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { TestbedError, run } from './exec.js';

/** Debian packages the testbed runs, with a file each one provides (used where dpkg is absent). */
const REQUIRED_PACKAGES: ReadonlyArray<{ name: string; provides: string }> = [
  { name: 'docker.io', provides: '/usr/sbin/dockerd' },
  { name: 'openssh-server', provides: '/usr/sbin/sshd' },
  { name: 'docker-registry', provides: '/usr/bin/docker-registry' },
  { name: 'postgresql', provides: '/usr/bin/pg_lsclusters' },
  { name: 'busybox-static', provides: '/bin/busybox' },
  { name: 'nginx-light', provides: '/usr/sbin/nginx' },
  { name: 'iproute2', provides: '/usr/sbin/ip' },
  { name: 'debootstrap', provides: '/usr/sbin/debootstrap' },
];

const POLICY_RC = '/usr/sbin/policy-rc.d';

export async function missingPackages(): Promise<string[]> {
  const names = REQUIRED_PACKAGES.map((pkg) => pkg.name);
  const dpkg = await run('dpkg-query', ['-W', '-f=${Package}\t${Status}\n', ...names], { allowFailure: true }).catch(() => undefined);
  if (!dpkg) return REQUIRED_PACKAGES.filter((pkg) => !existsSync(pkg.provides)).map((pkg) => pkg.name);
  const installed = new Set(
    dpkg.stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([, status]) => status === 'install ok installed')
      .map(([name]) => name),
  );
  return names.filter((name) => !installed.has(name));
}

/**
 * Installs what is missing (root only). Debian's maintainer scripts would start dockerd and a
 * PostgreSQL cluster through invoke-rc.d; a temporary policy-rc.d (exit 101) forbids that, so no
 * stray service holds the Docker socket or port 5432 that the testbed manages itself.
 */
export async function ensurePackages(log: (line: string) => void, logFile: string): Promise<string> {
  const missing = await missingPackages();
  if (missing.length === 0) return 'all installed';
  if (process.getuid?.() !== 0) {
    throw new TestbedError(
      `missing Debian packages: ${missing.join(' ')}`,
      `install them as root: apt-get update && apt-get install -y ${missing.join(' ')}`,
    );
  }
  // apt prints thousands of lines: they go to the log file, named if the step fails.
  log(`installing ${missing.join(' ')} (apt-get; output in ${logFile})`);
  mkdirSync(dirname(logFile), { recursive: true });
  const addedPolicy = !existsSync(POLICY_RC);
  if (addedPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\n# stagecraft testbed: do not start services while installing\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const toLog = { file: logFile, append: true } as const;
    await execa('apt-get', ['update'], { env, stdin: 'ignore', stdout: toLog, stderr: toLog });
    await execa('apt-get', ['install', '-y', ...missing], { env, stdin: 'ignore', stdout: toLog, stderr: toLog });
  } catch (error) {
    throw new TestbedError(`apt-get failed installing ${missing.join(' ')}: ${(error as Error).message.split('\n')[0]}`, `see ${logFile}`);
  } finally {
    if (addedPolicy) rmSync(POLICY_RC, { force: true });
  }
  const stillMissing = await missingPackages();
  if (stillMissing.length > 0) throw new TestbedError(`still missing after apt-get install: ${stillMissing.join(' ')}`);
  return `installed ${missing.join(' ')}`;
}
