import type { CommonOptions } from '../context.js';
import { loadForCommand, storeFileFor } from '../context.js';
import { ExitCode, StagecraftError } from '../../errors.js';
import { formatDetails } from '../../ops/details.js';
import { readDetails } from '../../ops/read-details.js';
import { ReleaseStore } from '../../releases/store.js';

export interface DetailsOptions extends CommonOptions {
  json: boolean;
}

export async function runDetails(options: DetailsOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const store = new ReleaseStore(storeFileFor(options));
  await store.list(); // a corrupt store stops us before any host is read
  const details = await readDetails(loaded, store, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(options.json ? `${JSON.stringify(details, null, 2)}\n` : formatDetails(details));
  const unreachable = details.hosts.filter((host) => !host.reachable);
  if (unreachable.length > 0) {
    throw new StagecraftError(`${unreachable.length} of ${details.hosts.length} hosts could not be read: ${unreachable.map((host) => `${host.address} (${host.error ?? 'unknown error'})`).join('; ')}`, ExitCode.rollout);
  }
}
