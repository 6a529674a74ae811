/** The app's running containers of one role on a host, found by their labels (never by name). */
import type { DockerOps } from '../remote/docker-ops.js';

export interface AppContainer {
  id: string;
  name: string;
  version: string | undefined;
  created: number;
}

export interface RoleOf {
  service: string;
  environment: string;
  role: string;
}

/** Newest first (a rollout briefly runs two). */
export async function runningContainers(ops: DockerOps, of: RoleOf): Promise<AppContainer[]> {
  const running = await ops.listContainers({
    all: false,
    labels: { 'stagecraft.service': of.service, 'stagecraft.environment': of.environment, 'stagecraft.role': of.role },
  });
  return running
    .map((info) => ({ id: info.Id, name: info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12), version: info.Labels['stagecraft.version'], created: info.Created }))
    .sort((a, b) => b.created - a.created);
}
