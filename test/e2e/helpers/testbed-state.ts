import { existsSync, readFileSync } from 'node:fs';
import { testbedLayout } from '../../../testbed/layout.js';
import type { TestbedHost, TestbedState } from '../../../testbed/state.js';
import { readStateFile } from '../../../testbed/state.js';

export type { TestbedHost, TestbedState } from '../../../testbed/state.js';

/** Path of the state file of the testbed (`$STAGECRAFT_TESTBED_DIR` or `<repo>/.testbed`). */
export function testbedStatePath(): string {
  return testbedLayout().stateFile;
}

/**
 * The running testbed's contract: hosts, ssh key + known_hosts, registry and Postgres
 * credentials, image refs. Throws when the testbed is not up.
 */
export function readTestbedState(): TestbedState {
  const path = testbedStatePath();
  const state = readStateFile(path);
  if (!state) throw new Error(`the testbed is not up (no ${path}): run \`npm run testbed -- up\``);
  return state;
}

/**
 * argv for the `ssh` client reaching one host as the testbed's user, host key checked
 * against the testbed's known_hosts. Append the remote command's words; the remote shell
 * joins and re-splits them, so pass only fixed words, never untrusted values.
 */
export function sshArgv(state: TestbedState, host: TestbedHost): string[] {
  return [
    '-i', state.ssh.key,
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${state.ssh.known_hosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=10',
    '-p', String(host.port),
    `${state.ssh.user}@${host.address}`,
  ];
}

/** SSH connections the host's sshd has accepted so far (its log has one line per accepted key login). */
export function acceptedConnections(host: TestbedHost): number {
  if (!existsSync(host.sshd_log)) return 0;
  return readFileSync(host.sshd_log, 'utf8').split('\n').filter((line) => line.includes('Accepted publickey')).length;
}
