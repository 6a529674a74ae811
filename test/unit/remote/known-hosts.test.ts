import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprintSha256,
  hostFieldMatches,
  hostKeyAlgorithmsFor,
  hostLookupName,
  keyTypeOfBlob,
  knownKeyTypes,
  parseKnownHosts,
} from '../../../src/remote/known-hosts.js';

interface TestKey {
  type: string;
  line: string; // "type base64"
  blob: Buffer;
  fingerprint: string; // from ssh-keygen -l
}

const dir = mkdtempSync(join(tmpdir(), 'sc-known-hosts-'));

function makeKey(name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): TestKey {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path]);
  const pub = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`]).toString().split(/\s+/)[1] ?? '';
  return { type: pub[0] ?? '', line: `${pub[0]} ${pub[1]}`, blob: Buffer.from(pub[1] ?? '', 'base64'), fingerprint };
}

let ed: TestKey;
let ed2: TestKey;
let ecdsa: TestKey;
let rsa: TestKey;

beforeAll(() => {
  ed = makeKey('ed', 'ed25519');
  ed2 = makeKey('ed2', 'ed25519');
  ecdsa = makeKey('ecdsa', 'ecdsa');
  rsa = makeKey('rsa', 'rsa');
});

describe('known_hosts matching', () => {
  it('names non-standard ports the OpenSSH way', () => {
    expect(hostLookupName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(hostLookupName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches plain names, comma lists, wildcards and negations', () => {
    expect(hostFieldMatches('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostFieldMatches('web1,10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostFieldMatches('10.0.0.10', '10.0.0.1')).toBe(false);
    expect(hostFieldMatches('10.0.0.*', '10.0.0.7')).toBe(true);
    expect(hostFieldMatches('10.0.0.?', '10.0.0.77')).toBe(false);
    expect(hostFieldMatches('*.EXAMPLE.com', 'web.example.COM')).toBe(true);
    expect(hostFieldMatches('10.0.0.*,!10.0.0.5', '10.0.0.5')).toBe(false);
    expect(hostFieldMatches('10.0.0.*,!10.0.0.5', '10.0.0.6')).toBe(true);
    expect(hostFieldMatches('[10.0.0.1]:2222', '[10.0.0.1]:2222')).toBe(true);
    expect(hostFieldMatches('[10.0.0.1]:2222', '10.0.0.1')).toBe(false);
    expect(hostFieldMatches('10.0.0.1', '[10.0.0.1]:2222')).toBe(false);
    // dots are literal, not regex wildcards
    expect(hostFieldMatches('10.0.0.1', '10a0b0c1')).toBe(false);
  });

  it('matches entries hashed by ssh-keygen -H, including [host]:port', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `10.9.8.7 ${ed.line}\n[10.9.8.7]:2200 ${ecdsa.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries.every((entry) => entry.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, '10.9.8.7', 22, ed.blob)).toMatchObject({ status: 'match' });
    expect(checkHostKey(entries, '10.9.8.7', 2200, ecdsa.blob)).toMatchObject({ status: 'match' });
    expect(checkHostKey(entries, '10.9.8.6', 22, ed.blob)).toEqual({ status: 'unknown' });
    expect(checkHostKey(entries, '10.9.8.7', 22, ed2.blob)).toMatchObject({ status: 'changed', knownType: 'ssh-ed25519' });
  });

  it('accepts the recorded key of each type and reports a different key as changed', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `web1,10.0.0.1 ${ed.line} root@somewhere`,
        `10.0.0.1 ${ecdsa.line}`,
        `10.0.0.2 ${rsa.line}`,
        'garbage-line',
      ].join('\n'),
    );
    expect(entries).toHaveLength(3);
    expect(checkHostKey(entries, '10.0.0.1', 22, ed.blob)).toEqual({ status: 'match', line: 3 });
    expect(checkHostKey(entries, 'web1', 22, ed.blob)).toEqual({ status: 'match', line: 3 });
    expect(checkHostKey(entries, '10.0.0.1', 22, ecdsa.blob)).toEqual({ status: 'match', line: 4 });
    expect(checkHostKey(entries, '10.0.0.2', 22, rsa.blob)).toEqual({ status: 'match', line: 5 });
    expect(checkHostKey(entries, '10.0.0.1', 22, ed2.blob)).toEqual({ status: 'changed', line: 3, knownType: 'ssh-ed25519' });
    // a key of a type never recorded for this host is refused as well
    expect(checkHostKey(entries, '10.0.0.2', 22, ed.blob)).toMatchObject({ status: 'changed', knownType: 'ssh-rsa' });
    expect(checkHostKey(entries, '10.0.0.3', 22, ed.blob)).toEqual({ status: 'unknown' });
    expect(checkHostKey(entries, '10.0.0.1', 2222, ed.blob)).toEqual({ status: 'unknown' });
  });

  it('refuses @revoked keys and ignores @cert-authority lines', () => {
    const entries = parseKnownHosts([`10.0.0.1 ${ed.line}`, `@revoked * ${ed.line}`, `@cert-authority 10.0.0.4 ${ecdsa.line}`].join('\n'));
    expect(checkHostKey(entries, '10.0.0.1', 22, ed.blob)).toEqual({ status: 'revoked', line: 2 });
    expect(checkHostKey(entries, '10.0.0.4', 22, ecdsa.blob)).toEqual({ status: 'unknown' });
  });

  it('lists known key types so the handshake asks for a recorded one', () => {
    const entries = parseKnownHosts([`10.0.0.1 ${ecdsa.line}`, `10.0.0.1 ${rsa.line}`].join('\n'));
    expect(knownKeyTypes(entries, '10.0.0.1', 22)).toEqual(['ecdsa-sha2-nistp256', 'ssh-rsa']);
    expect(hostKeyAlgorithmsFor(knownKeyTypes(entries, '10.0.0.1', 22))).toEqual([
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    expect(knownKeyTypes(entries, '10.0.0.9', 22)).toEqual([]);
  });

  it('fingerprints and key types agree with ssh-keygen', () => {
    for (const key of [ed, ecdsa, rsa]) {
      expect(fingerprintSha256(key.blob)).toBe(key.fingerprint);
      expect(keyTypeOfBlob(key.blob)).toBe(key.type);
    }
  });
});
