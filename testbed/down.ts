import { existsSync } from 'node:fs';
import { operatorEngineStartedByTestbed, stopOperatorEngine } from './docker-engine.js';
import { TestbedError, ensureSystemPath } from './exec.js';
import { knownHostIndexes, stopHost } from './hosts.js';
import type { TestbedLayout } from './layout.js';
import { NETWORK, testbedLayout } from './layout.js';
import { withTestbedLock } from './lock.js';
import { removeBridge } from './network.js';
import { stopPostgres } from './postgres.js';
import { stopRegistry } from './registry.js';
import type { Reporter } from './report.js';
import { consoleReporter, formatMs } from './report.js';
import { removeStateFile } from './state.js';

export interface DownOptions {
  layout?: TestbedLayout;
  reporter?: Reporter;
}

/**
 * Stops what `up` started — found by pid files whose command line names this testbed's paths —
 * and removes the namespaces, veths, bridge and state file. Data (images, registry storage,
 * the database) and installed packages stay, so the next `up` is quick.
 */
export async function down(options: DownOptions = {}): Promise<void> {
  ensureSystemPath();
  const layout = options.layout ?? testbedLayout();
  const reporter = options.reporter ?? consoleReporter();
  const started = performance.now();
  if (process.getuid?.() !== 0) throw new TestbedError('testbed down must run as root (it stops daemons and removes network namespaces)');
  if (!existsSync(layout.dir)) {
    reporter.note(`nothing to do: ${layout.dir} does not exist`);
    return;
  }
  await withTestbedLock(
    layout.lockFile,
    (owner) => reporter.note(`waiting for another testbed command (pid ${owner})`),
    async () => {
      removeStateFile(layout.stateFile);
      const hosts = (await knownHostIndexes(layout)).map((index) => layout.host(index));
      await Promise.all([
        ...hosts.map((host) => reporter.step(`stop host ${host.name}`, () => stopHost(host))),
        reporter.step('stop registry', () => stopRegistry(layout)),
        reporter.step('stop postgres', () => stopPostgres(layout)),
      ]);
      const operatorPid = operatorEngineStartedByTestbed(layout);
      if (operatorPid !== undefined) {
        await reporter.step(`stop operator dockerd (pid ${operatorPid})`, () => stopOperatorEngine(operatorPid));
      } else {
        reporter.note('operator dockerd: not started by the testbed, left as it is');
      }
      await reporter.step(`remove bridge ${NETWORK.bridge}`, removeBridge);
    },
  );
  reporter.note(`down in ${formatMs(performance.now() - started)}`);
}
