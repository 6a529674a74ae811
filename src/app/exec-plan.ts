/**
 * `app exec` as data: where the command runs and how. `--dry-run` prints it; the executor
 * (exec.ts) does exactly this. Pure.
 */
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';

/** Hosts a `--all` exec runs on at once. */
export const EXEC_PARALLEL = 8;

export interface ExecRelease {
  id: string;
  version: string;
  /** The recorded image, pinned to its digest. */
  image: string;
}

export interface AppExecPlan {
  kind: 'app exec';
  service: string;
  environment: string;
  role: string;
  /** `one-off`: a new container of the current release's image; `reuse`: docker exec in the running one. */
  mode: 'one-off' | 'reuse';
  hosts: string[];
  command: string[];
  /** stdin attached (one host only); a TTY too when stdin is one. */
  interactive: boolean;
  tty: boolean;
  max_parallel: number;
  /** One-off only. */
  one_off?: {
    release: string;
    version: string;
    image: string;
    /** Each host's container is `<prefix>-<random>`. */
    container_prefix: string;
    network: string;
    labels: Record<string, string>;
  };
}

export interface ExecPlanInput {
  service: string;
  environment: string;
  role: string;
  hosts: string[];
  command: readonly string[];
  reuse: boolean;
  interactive: boolean;
  stdinIsTty: boolean;
  /** The current release (needed for a one-off; undefined when there is none yet). */
  release: ExecRelease | undefined;
}

export function execContainerName(service: string): string {
  return `${service}-exec-${randomBytes(4).toString('hex')}`;
}

export function planAppExec(input: ExecPlanInput): AppExecPlan {
  if (input.command.length === 0) throw new UserError('app exec needs a command after --: stagecraft app exec --env E -- CMD ARGS...');
  if (input.interactive && input.hosts.length > 1) {
    throw new UserError(`-i attaches your terminal to one host, and ${input.hosts.length} are selected (${input.hosts.join(', ')}): pick one with --host`);
  }
  const base = {
    kind: 'app exec' as const,
    service: input.service,
    environment: input.environment,
    role: input.role,
    hosts: [...input.hosts],
    command: [...input.command],
    interactive: input.interactive,
    tty: input.interactive && input.stdinIsTty,
    max_parallel: EXEC_PARALLEL,
  };
  if (input.reuse) return { ...base, mode: 'reuse' };
  if (!input.release) {
    throw new UserError(`${input.service} has no completed release on ${input.environment} yet, so there is no image to run the command in`, {
      hint: `deploy first: stagecraft deploy --env ${input.environment}`,
    });
  }
  return {
    ...base,
    mode: 'one-off',
    one_off: {
      release: input.release.id,
      version: input.release.version,
      image: input.release.image,
      container_prefix: `${input.service}-exec`,
      network: `${input.service}-net`,
      labels: {
        'stagecraft.service': input.service,
        'stagecraft.environment': input.environment,
        'stagecraft.version': input.release.version,
        'stagecraft.role': 'exec',
      },
    },
  };
}

/** The command as a user would type it: plain words as they are, others quoted and escaped. */
export function shownCommand(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : quoteValue(word))).join(' ');
}

export function formatExecPlan(plan: AppExecPlan): string {
  const lines = [`app exec on ${plan.environment} (${plan.service}), role ${plan.role}: ${shownCommand(plan.command)}`];
  if (plan.one_off) {
    lines.push(`  one-off container ${plan.one_off.container_prefix}-<random> of release ${plan.one_off.release} (version ${plan.one_off.version})`);
    lines.push(`  image ${plan.one_off.image}, network ${plan.one_off.network}, the app's environment; removed after it exits`);
  } else {
    lines.push(`  docker exec in the running ${plan.role} container on each host`);
  }
  lines.push(`  hosts: ${plan.hosts.join(', ')}${plan.hosts.length > 1 ? ` (at most ${plan.max_parallel} at once)` : ''}`);
  if (plan.interactive) lines.push(`  stdin attached${plan.tty ? ', with a TTY' : ''}`);
  return `${lines.join('\n')}\n`;
}
