/**
 * Which hosts `app exec` and `app logs` act on: the hosts of a role, narrowed by --host, --primary
 * or --all. Pure; every mistake is a UserError naming what there is to choose from.
 */
import type { ResolvedConfig } from '../config/index.js';
import { PRIMARY_ROLE, WEB_ROLE, appRolesOf } from '../config/index.js';
import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';

export const DEFAULT_ROLE = WEB_ROLE;

type Hosts = ResolvedConfig['hosts'];

export interface HostChoice {
  role: string;
  host?: string | undefined;
  primary?: boolean;
  all?: boolean;
}

/** App roles the environment's hosts run (`primary` marks a host, it is not a container role; a host listing only it runs web). */
export function rolesOf(hosts: Hosts): string[] {
  return [...new Set(hosts.flatMap((host) => appRolesOf(host)))];
}

/** Addresses of the hosts listing `role`, in config order; an unknown role is a user error. */
export function hostsOfRole(hosts: Hosts, role: string, environment: string): string[] {
  const known = rolesOf(hosts);
  if (role === PRIMARY_ROLE || !known.includes(role)) {
    throw new UserError(`no host of ${environment} has role ${quoteValue(role)}; roles: ${known.join(', ') || '(none)'}`);
  }
  return hosts.filter((host) => appRolesOf(host).includes(role)).map((host) => host.address);
}

/** --host: one address of the environment that has the role. */
function named(hosts: Hosts, address: string, role: string, environment: string, ofRole: readonly string[]): string {
  if (!hosts.some((host) => host.address === address)) {
    throw new UserError(`${quoteValue(address)} is not a host of ${environment}; its hosts: ${hosts.map((host) => host.address).join(', ')}`);
  }
  if (!ofRole.includes(address)) {
    throw new UserError(`host ${address} of ${environment} does not have role ${quoteValue(role)}; hosts with it: ${ofRole.join(', ')}`);
  }
  return address;
}

/**
 * `app exec`: by default the primary host (a one-off command usually must run once), or the first
 * host of the role when the primary does not have it; --all every host of the role; --host one.
 */
export function selectExecHosts(hosts: Hosts, choice: HostChoice, environment: string): string[] {
  const chosen = [choice.host !== undefined && '--host', choice.primary && '--primary', choice.all && '--all'].filter(Boolean);
  if (chosen.length > 1) throw new UserError(`pass one of --host, --primary and --all, not ${chosen.join(' and ')}`);
  const ofRole = hostsOfRole(hosts, choice.role, environment);
  if (choice.host !== undefined) return [named(hosts, choice.host, choice.role, environment, ofRole)];
  if (choice.all) return ofRole;
  const primary = hosts.find((host) => host.roles.includes(PRIMARY_ROLE))?.address;
  if (choice.primary) {
    if (primary === undefined || !ofRole.includes(primary)) {
      throw new UserError(`the primary host ${primary ?? ''} of ${environment} does not have role ${quoteValue(choice.role)}; hosts with it: ${ofRole.join(', ')}`.replace('  ', ' '));
    }
    return [primary];
  }
  return [primary !== undefined && ofRole.includes(primary) ? primary : ofRole[0]!];
}

/** `app logs`: every host of the role, or the one --host names. */
export function selectLogHosts(hosts: Hosts, choice: Pick<HostChoice, 'role' | 'host'>, environment: string): string[] {
  const ofRole = hostsOfRole(hosts, choice.role, environment);
  return choice.host !== undefined ? [named(hosts, choice.host, choice.role, environment, ofRole)] : ofRole;
}
