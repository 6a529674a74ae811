/**
 * `stagecraft prune`: reads each host, plans (prune-plan.ts), and removes what the plan says,
 * inside one session. The real run reads and removes under the deploy lock, so a deploy can
 * neither race it nor be pruned from under; `--dry-run` reads without the lock and changes nothing.
 * Each host it reached gets an audit line, failures included.
 */
import type { LoadedConfig } from '../config/index.js';
import { ExitCode, StagecraftError } from '../errors.js';
import type { Session } from '../apply/session.js';
import { withSession } from '../apply/session.js';
import { readEveryHost } from './read-hosts.js';
import { readPruneFacts, scopeOf } from './host-facts.js';
import { formatPrunePlan, imageLabel, pruneHeading, isUnread, planPrune, plural, type HostPrunePlan, type PrunePlan } from './prune-plan.js';

export interface PruneRequest {
  keep: number;
  dryRun: boolean;
  out: (line: string) => void;
}

export interface HostPruneResult {
  address: string;
  removed_containers: string[];
  removed_images: string[];
  errors: string[];
}

function messageOf(session: Session, error: unknown): string {
  return session.scrub(error instanceof Error ? error.message : String(error));
}

/** Removes one host's share of the plan, in order; a failure is noted and the rest still tried. */
async function pruneHost(session: Session, plan: HostPrunePlan, signal: AbortSignal, out: (line: string) => void): Promise<HostPruneResult> {
  const result: HostPruneResult = { address: plan.address, removed_containers: [], removed_images: [], errors: [] };
  const say = (line: string) => out(`  ${line}`);
  out(plan.address);
  const fail = (what: string, error: unknown) => {
    const text = `${what}: ${messageOf(session, error)}`;
    result.errors.push(text);
    say(`FAILED ${text}`);
  };
  let ops;
  try {
    ops = await (await session.host(plan.address)).dockerOps();
  } catch (error) {
    fail('connecting', error);
    return result;
  }
  for (const container of plan.remove_containers) {
    if (signal.aborted) return result;
    try {
      // Not forced: a container that started since the plan was made is refused by the engine and stays.
      await ops.removeContainer(container.id, { force: false });
      result.removed_containers.push(container.name);
      say(`removed container ${container.name} (${container.role} ${container.version}, ${container.state})`);
    } catch (error) {
      fail(`removing container ${container.name}`, error);
    }
  }
  for (const image of plan.remove_images) {
    if (signal.aborted) return result;
    try {
      for (const ref of image.refs) await ops.removeImageRef(ref);
      const left = await ops.inspectImage(image.id);
      result.removed_images.push(imageLabel(image));
      say(left ? `untagged image ${imageLabel(image)} (it stays: other repositories still name it)` : `removed image ${imageLabel(image)}`);
    } catch (error) {
      fail(`removing image ${imageLabel(image)}`, error);
    }
  }
  if (plan.remove_containers.length === 0 && plan.remove_images.length === 0) say('nothing to remove');
  return result;
}

function auditDetail(keep: number, result: HostPruneResult | undefined, interrupted: boolean): string {
  if (!result) return `keep ${keep}: not pruned${interrupted ? ' (interrupted)' : ''}`;
  const removed = `removed ${plural(result.removed_containers.length, 'container')} and ${plural(result.removed_images.length, 'image')}`;
  const names = [...result.removed_containers, ...result.removed_images].join(', ');
  const failed = result.errors.length > 0 ? `; failed: ${result.errors.join('; ')}` : '';
  return `keep ${keep}: ${removed}${names ? ` (${names})` : ''}${failed}${interrupted ? '; interrupted' : ''}`;
}

function unreadError(plan: PrunePlan): StagecraftError | undefined {
  const unread = plan.hosts.filter(isUnread);
  if (unread.length === 0) return undefined;
  return new StagecraftError(`${plural(unread.length, 'host')} could not be read, nothing pruned there: ${unread.map((host) => `${host.address} (${host.error})`).join('; ')}`, ExitCode.rollout);
}

/**
 * Runs prune; throws (after printing everything) when a host could not be read or a removal
 * failed: exit 5, like a rollout that could not reach a host.
 */
export async function runPruneCommand(loaded: LoadedConfig, request: PruneRequest): Promise<PrunePlan> {
  const scope = scopeOf(loaded);
  return withSession(loaded, { hostExitCode: ExitCode.rollout }, async (session) => {
    if (request.dryRun) {
      const plan = planPrune({ service: scope.service, environment: scope.environment, keep: request.keep, hosts: await readEveryHost(session, (address, ops) => readPruneFacts(address, ops, scope)) });
      request.out(formatPrunePlan(plan));
      request.out('dry run: nothing was removed');
      const unread = unreadError(plan);
      if (unread) throw unread;
      return plan;
    }
    return session.underDeployLock({ command: 'prune', waitMs: 0 }, async (signal) => {
      // Read under the lock: what a deploy that just finished left is what gets planned.
      const plan = planPrune({ service: scope.service, environment: scope.environment, keep: request.keep, hosts: await readEveryHost(session, (address, ops) => readPruneFacts(address, ops, scope)) });
      const readable = plan.hosts.filter((host): host is HostPrunePlan => !isUnread(host));
      request.out(pruneHeading(plan));
      // One host after the other: the output stays grouped per host, in config order.
      const results: HostPruneResult[] = [];
      for (const host of plan.hosts) {
        if (isUnread(host)) request.out(`${host.address}: not read, nothing pruned: ${host.error}`);
        else results.push(await pruneHost(session, host, signal, request.out));
      }
      const byAddress = new Map(results.map((result) => [result.address, result]));
      for (const host of readable) {
        for (const failure of await session.audit([host.address], ['-', 'prune', auditDetail(request.keep, byAddress.get(host.address), signal.aborted)])) {
          request.out(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}`);
        }
      }
      if (signal.aborted) throw signal.reason;
      const totals = results.reduce((sum, r) => ({ containers: sum.containers + r.removed_containers.length, images: sum.images + r.removed_images.length }), { containers: 0, images: 0 });
      const kept = readable.reduce((sum, host) => sum + host.keep_containers.length, 0);
      request.out(`removed ${plural(totals.containers, 'container')} and ${plural(totals.images, 'image')} on ${plural(readable.length, 'host')}; kept ${plural(kept, 'app container')}`);
      const failures = results.flatMap((result) => result.errors.map((error) => `${result.address}: ${error}`));
      if (failures.length > 0) throw new StagecraftError(`prune failed on some removals: ${failures.join('; ')}`, ExitCode.rollout);
      const unread = unreadError(plan);
      if (unread) throw unread;
      return plan;
    });
  });
}
