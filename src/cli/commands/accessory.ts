/** `stagecraft accessory boot|reboot|stop|remove|details|logs NAME --env E`. */
import { parseDuration, type LoadedConfig } from '../../config/index.js';
import { withSession } from '../../apply/session.js';
import { UserError } from '../../errors.js';
import { registryAuthOf } from '../../migrate/target.js';
import { quoteValue } from '../../user-text.js';
import { executeAccessoryPlan } from '../../accessories/execute.js';
import { formatAccessoryDetails, readAccessoryDetails, type AccessoryDetails } from '../../accessories/details.js';
import { accessoryPlanJson, accessorySpecs, formatAccessoryPlan, planAccessories, selectAccessories, type AccessoryVerb } from '../../accessories/plan.js';
import { confirmAction, confirmEnvironment } from '../confirm.js';
import { loadForCommand, type CommonOptions } from '../context.js';

export interface AccessoryActionOptions extends CommonOptions {
  name: string;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
  volumes?: boolean;
}

export async function runAccessoryAction(verb: AccessoryVerb, options: AccessoryActionOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const specs = accessorySpecs(loaded, selectAccessories(loaded, options.name));
  const plan = planAccessories(verb, specs, {
    environment: loaded.environment,
    registryServer: loaded.config.registry?.server,
    removeVolumes: options.volumes === true,
  });
  if (options.dryRun) {
    process.stdout.write(options.json ? `${JSON.stringify(accessoryPlanJson(plan), null, 2)}\n` : formatAccessoryPlan(plan));
    return;
  }
  await confirmEnvironment(loaded, `accessory ${verb} ${options.name}`, options.yes);
  const volumes = plan.accessories.flatMap((planned) => planned.steps.flatMap((step) => (step.action === 'remove-volume' ? [`${step.volume} on ${planned.spec.host}`] : [])));
  if (volumes.length > 0) await confirmAction(`remove the volumes ${volumes.join(', ')} and every piece of data in them`, options.yes);

  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const { outcomes, firstError } = await withSession(loaded, {}, (session) =>
    executeAccessoryPlan(session, plan, { registryAuth: registryAuthOf(loaded), log: (line) => log(session.scrub(line)) }),
  );
  if (options.json) process.stdout.write(`${JSON.stringify({ verb, environment: loaded.environment, accessories: outcomes }, null, 2)}\n`);
  else for (const outcome of outcomes) log(`${outcome.name} on ${outcome.host}: ${outcome.status === 'failed' ? 'failed' : outcome.detail}`);
  if (firstError !== undefined) throw firstError;
}

export interface AccessoryDetailsOptions extends CommonOptions {
  name: string;
  json: boolean;
}

export async function runAccessoryDetails(options: AccessoryDetailsOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const specs = accessorySpecs(loaded, selectAccessories(loaded, options.name));
  const details: AccessoryDetails[] = await withSession(loaded, {}, async (session) => {
    const read: AccessoryDetails[] = [];
    for (const spec of specs) read.push(await readAccessoryDetails(await (await session.host(spec.host)).dockerOps(), spec));
    return read;
  });
  process.stdout.write(options.json ? `${JSON.stringify(details, null, 2)}\n` : formatAccessoryDetails(details));
}

export interface AccessoryLogsOptions extends CommonOptions {
  name: string;
  lines?: string;
  since?: string;
  follow: boolean;
}

/** `--since 10m` (a duration back from now) or a timestamp (`2026-01-02T10:00:00Z`), as Unix seconds. */
export function sinceSeconds(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  try {
    return Math.floor((now - parseDuration(value)) / 1000);
  } catch {
    const at = Date.parse(value);
    if (Number.isNaN(at)) throw new UserError(`--since ${quoteValue(value)} is neither a duration (10m, 2h) nor a timestamp (2026-01-02T10:00:00Z)`);
    return Math.floor(at / 1000);
  }
}

function lineCount(value: string | undefined): number {
  if (value === undefined) return 100;
  if (!/^\d+$/.test(value)) throw new UserError(`--lines ${quoteValue(value)} is not a number of lines`);
  return Number(value);
}

/** Redacts whole lines, so a secret split across two chunks of output is still found. */
function lineScrubber(scrub: (text: string) => string, write: (text: string) => void): { push: (chunk: string) => void; end: () => void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk;
      const cut = pending.lastIndexOf('\n');
      if (cut < 0) return;
      write(scrub(pending.slice(0, cut + 1)));
      pending = pending.slice(cut + 1);
    },
    end() {
      if (pending !== '') write(scrub(pending));
      pending = '';
    },
  };
}

export async function runAccessoryLogs(options: AccessoryLogsOptions): Promise<void> {
  const loaded: LoadedConfig = await loadForCommand(options);
  if (options.name === 'all') throw new UserError('accessory logs takes one accessory name (not all)');
  const [spec] = accessorySpecs(loaded, selectAccessories(loaded, options.name));
  const tail = lineCount(options.lines);
  const since = sinceSeconds(options.since);
  await withSession(loaded, {}, async (session) => {
    const ops = await (await session.host(spec!.host)).dockerOps();
    if (!(await ops.inspectContainer(spec!.container))) {
      throw new UserError(`accessory ${spec!.name} is not booted on ${spec!.host} (no container ${spec!.container})`, { hint: `stagecraft accessory boot ${spec!.name} --env ${loaded.environment}` });
    }
    const out = lineScrubber(session.scrub, (text) => process.stdout.write(text));
    const err = lineScrubber(session.scrub, (text) => process.stderr.write(text));
    if (options.follow) {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await ops.followLogs(spec!.container, { tail, since, onStdout: out.push, onStderr: err.push, signal: stop.signal });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    } else {
      const logs = await ops.readLogs(spec!.container, { tail, since });
      out.push(logs.stdout);
      err.push(logs.stderr);
    }
    out.end();
    err.end();
  });
}
