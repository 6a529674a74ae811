/** Which credentials an SSH connection offers: identity files from config, then the ssh-agent. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ParsedKey } from 'ssh2';

const DEFAULT_IDENTITY_FILES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

export interface AuthPlan {
  methods: AnyAuthMethod[];
  /** Human-readable list of what is offered, for the "authentication failed" message. */
  described: string[];
}

export class KeyFileError extends Error {}

function loadKey(path: string): ParsedKey {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(code === 'ENOENT' ? `SSH key ${path} does not exist` : `cannot read SSH key ${path} (${code ?? String(error)})`);
  }
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) {
    const encrypted = /passphrase|encrypted/i.test(parsed.message);
    throw new KeyFileError(
      encrypted
        ? `SSH key ${path} is protected by a passphrase; load it into ssh-agent (ssh-add ${path}) instead`
        : `SSH key ${path} is not a private key ssh2 can read (${parsed.message})`,
    );
  }
  // parseKey returns an array for files that hold several keys; OpenSSH files hold one.
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key?.isPrivateKey()) throw new KeyFileError(`SSH key ${path} holds no private key`);
  return key;
}

/**
 * Configured keys are all required to load (a typo in config should fail loudly); with none
 * configured, the usual default identity files that exist are used. The ssh-agent, when
 * SSH_AUTH_SOCK is set, is tried after the files.
 */
export function planAuthentication(user: string, keyPaths: readonly string[], agentSocket: string | undefined): AuthPlan {
  const methods: AnyAuthMethod[] = [];
  const described: string[] = [];
  const paths = keyPaths.length > 0 ? keyPaths.map(expandHome) : DEFAULT_IDENTITY_FILES.map(expandHome).filter((p) => existsSync(p));
  for (const path of paths) {
    methods.push({ type: 'publickey', username: user, key: loadKey(path) });
    described.push(path);
  }
  if (agentSocket) {
    methods.push({ type: 'agent', username: user, agent: agentSocket });
    described.push(`ssh-agent (${agentSocket})`);
  }
  return { methods, described };
}
