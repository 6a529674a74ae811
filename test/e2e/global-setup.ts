import { down } from '../../testbed/down.js';
import { TestbedError } from '../../testbed/exec.js';
import { testbedStatus } from '../../testbed/status.js';
import { up } from '../../testbed/up.js';
import { readStateFile } from '../../testbed/state.js';
import { testbedLayout } from '../../testbed/layout.js';

const HOSTS = 3;

/**
 * Brings the real testbed up once for the e2e project. A testbed that was already fully up
 * (developers share one) is used as is and left running; one that this run had to start or
 * repair is taken down again at the end, unless STAGECRAFT_TESTBED_KEEP=1.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const before = await testbedStatus();
  if (before.up && before.hostCount >= HOSTS) {
    process.stdout.write(`[testbed] using the running testbed in ${before.dir} (${before.hostCount} hosts)\n`);
    // A testbed started without --debian (the demo's) gets the Debian images added, and stays up.
    if (!readStateFile(testbedLayout().stateFile)?.images.debian) await up({ hosts: before.hostCount, debian: true });
    return undefined;
  }
  try {
    await up({ hosts: HOSTS, debian: true });
  } catch (error) {
    if (error instanceof TestbedError) {
      throw new Error(`testbed up failed: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}`);
    }
    throw error;
  }
  if (process.env.STAGECRAFT_TESTBED_KEEP === '1') return undefined;
  return async () => {
    await down();
  };
}
