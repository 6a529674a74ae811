/**
 * Reading OpenSSH known_hosts files and checking a server's host key against them.
 * Supports plain and wildcard patterns, negations, comma lists, `[host]:port`,
 * hashed `|1|salt|hash` entries and the `@revoked` marker (`@cert-authority` lines are skipped:
 * host certificates are not supported).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  readonly line: number;
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  /** The host field as written: a comma list of patterns, or one hashed `|1|salt|hash`. */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
}

export type HostKeyCheck =
  | { status: 'match'; line: number }
  | { status: 'unknown' }
  | { status: 'changed'; line: number; knownType: string }
  | { status: 'revoked'; line: number };

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: ignore the line, as OpenSSH does
    }
    const [hosts, keyType, base64Key] = fields;
    if (hosts === undefined || keyType === undefined || base64Key === undefined) return;
    const key = Buffer.from(base64Key, 'base64');
    if (key.length === 0) return;
    entries.push({ line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostLookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH-style glob: `*` any run, `?` one character; case-insensitive. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(name);
}

function hashedMatches(hosts: string, name: string): boolean {
  const parts = hosts.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a known_hosts host field applies to a lookup name (see hostLookupName). */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The key type named inside an SSH public key blob (e.g. `ssh-ed25519`). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = hostLookupName(host, port);
  return entries.filter((entry) => entry.marker !== 'cert-authority' && hostFieldMatches(entry.hosts, name));
}

export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyCheck {
  const relevant = entriesFor(entries, host, port);
  // A key marked @revoked is refused for every host, whatever pattern its line uses
  // (stricter than OpenSSH, which honours the pattern), and even if another line lists it.
  const revoked = entries.find((entry) => entry.marker === 'revoked' && entry.key.equals(blob));
  if (revoked) return { status: 'revoked', line: revoked.line };
  const valid = relevant.filter((entry) => entry.marker === undefined);
  const same = valid.find((entry) => entry.key.equals(blob));
  if (same) return { status: 'match', line: same.line };
  if (valid.length === 0) return { status: 'unknown' };
  const type = keyTypeOfBlob(blob);
  const sameType = valid.find((entry) => entry.keyType === type);
  const other = sameType ?? valid[0];
  return other ? { status: 'changed', line: other.line, knownType: other.keyType } : { status: 'unknown' };
}

/** Key types known for the host, so the handshake can ask the server for one of those first. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const types = entriesFor(entries, host, port)
    .filter((entry) => entry.marker === undefined)
    .map((entry) => entry.keyType);
  return [...new Set(types)];
}

const HOST_KEY_ALGORITHMS_BY_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Host key algorithms (as ssh2 names them) for the given known key types, in order. */
export function hostKeyAlgorithmsFor(keyTypes: readonly string[]): string[] {
  return keyTypes.flatMap((type) => HOST_KEY_ALGORITHMS_BY_TYPE[type] ?? []);
}
