import type { Session } from '../apply/session.js';
import { mapWithConcurrency } from '../remote/connect.js';
import type { DockerOps } from '../remote/docker-ops.js';
import type { UnreadHost } from './host-facts.js';

/**
 * Reads every host of the environment (config order kept, up to 8 at once); a host that cannot be
 * reached or read becomes an UnreadHost saying why (scrubbed), so one bad host never hides the rest.
 */
export async function readEveryHost<T>(session: Session, read: (address: string, ops: DockerOps) => Promise<T>): Promise<(T | UnreadHost)[]> {
  const addresses = session.loaded.config.hosts.map((host) => host.address);
  return mapWithConcurrency(addresses, 8, async (address): Promise<T | UnreadHost> => {
    try {
      return await read(address, await (await session.host(address)).dockerOps());
    } catch (error) {
      const message = session.scrub(error instanceof Error ? error.message : String(error));
      // Host errors already start with the address; the caller names the host itself.
      return { address, error: message.startsWith(`${address}: `) ? message.slice(address.length + 2) : message };
    }
  });
}
