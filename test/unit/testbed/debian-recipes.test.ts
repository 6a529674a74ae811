import { describe, expect, it } from 'vitest';
import {
  DEBIAN_LOCAL_REF,
  DEBIAN_RECIPE_VERSION,
  DERIVED_IMAGES,
  INPUTS_LABEL,
  ROOTFS_LABEL,
  cacheIsUsable,
  chooseMirror,
  debianImportChanges,
  debianInputs,
  derivedDockerfile,
  derivedInputs,
  mirrorFromDeb822,
  mirrorFromSourcesList,
} from '../../../testbed/debian-recipes.js';

// Example hosts only (RFC 2606 names); the real mirror is read from /etc/apt at run time.
const DEB822 = `Types: deb
# http://mirror.example.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main
`;

const SHA = 'a'.repeat(64);

describe('apt mirror from a deb822 .sources file', () => {
  it('takes the URI of the stanza serving the main suite, not security, ignoring comments', () => {
    expect(mirrorFromDeb822(DEB822)).toEqual({ uri: 'http://mirror.example.org/debian', suite: 'bookworm' });
  });

  it('skips security-only, deb-src-only and disabled stanzas', () => {
    const text = `Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm

Types: deb
URIs: http://off.example.org/debian
Suites: bookworm
Enabled: no

Types: deb deb-src
URIs: http://on.example.org/debian
Suites: bookworm
Components: main
`;
    expect(mirrorFromDeb822(text)?.uri).toBe('http://on.example.org/debian');
  });

  it('prefers a stanza listing the wanted suite and handles CRLF and continuation lines', () => {
    const text = 'Types: deb\r\nURIs: http://a.example.org/debian\r\nSuites: trixie\r\n\r\nTypes: deb\r\nURIs:\r\n http://b.example.org/debian\r\nSuites: bookworm\r\n';
    expect(mirrorFromDeb822(text)).toEqual({ uri: 'http://b.example.org/debian', suite: 'bookworm' });
    expect(mirrorFromDeb822(text, 'sid')).toEqual({ uri: 'http://a.example.org/debian', suite: 'trixie' });
  });

  it('returns undefined when there is no usable stanza', () => {
    expect(mirrorFromDeb822('')).toBeUndefined();
    expect(mirrorFromDeb822('Types: deb\nURIs: cdrom:/media\nSuites: bookworm\n')).toBeUndefined();
  });
});

describe('apt mirror from sources.list lines', () => {
  it('reads `deb [options] URI SUITE COMPONENTS`, skipping comments, deb-src and security', () => {
    const text = [
      '# deb http://old.example.org/debian bookworm main',
      'deb-src http://src.example.org/debian bookworm main',
      'deb http://security.example.org/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.org/debian bookworm main contrib',
    ].join('\n');
    expect(mirrorFromSourcesList(text)).toEqual({ uri: 'http://mirror.example.org/debian', suite: 'bookworm' });
  });

  it('returns undefined for a file without deb lines', () => {
    expect(mirrorFromSourcesList('# nothing here\n\n')).toBeUndefined();
  });
});

describe('chooseMirror', () => {
  it('prefers .sources files, then falls back to .list files', () => {
    const list = { path: '/etc/apt/sources.list', text: 'deb http://list.example.org/debian bookworm main\n' };
    const sources = { path: '/etc/apt/sources.list.d/debian.sources', text: DEB822 };
    expect(chooseMirror([list, sources])?.uri).toBe('http://mirror.example.org/debian');
    expect(chooseMirror([list])?.uri).toBe('http://list.example.org/debian');
    expect(chooseMirror([{ path: '/etc/apt/sources.list.d/other.list', text: '' }])).toBeUndefined();
  });

  it('prefers a file that serves the wanted suite over one that does not', () => {
    const trixie = { path: '/etc/apt/sources.list.d/a.sources', text: 'Types: deb\nURIs: http://t.example.org/debian\nSuites: trixie\n' };
    expect(chooseMirror([trixie, { path: '/etc/apt/sources.list.d/b.sources', text: DEB822 }])?.uri).toBe('http://mirror.example.org/debian');
  });
});

describe('fingerprints and labels', () => {
  it('base image inputs depend on the tarball only through its sha256, and are labelled on import', () => {
    expect(debianInputs(SHA)).toMatch(/^[0-9a-f]{64}$/);
    expect(debianInputs(SHA)).toBe(debianInputs(SHA));
    expect(debianInputs(SHA)).not.toBe(debianInputs('b'.repeat(64)));
    const changes = debianImportChanges(SHA);
    expect(changes).toContain(`LABEL ${INPUTS_LABEL}=${debianInputs(SHA)}`);
    expect(changes).toContain(`LABEL ${ROOTFS_LABEL}=${SHA}`);
    expect(changes.find((change) => change.startsWith('ENV PATH='))).toContain('/usr/bin');
  });

  it('derived images change with their Dockerfile and with the root filesystem, and differ from each other', () => {
    const [sqitch, pgClient] = DERIVED_IMAGES as [(typeof DERIVED_IMAGES)[0], (typeof DERIVED_IMAGES)[0]];
    expect(derivedInputs(sqitch, SHA)).toBe(derivedInputs(sqitch, SHA));
    expect(derivedInputs(sqitch, SHA)).not.toBe(derivedInputs(pgClient, SHA));
    expect(derivedInputs(sqitch, SHA)).not.toBe(derivedInputs(sqitch, 'b'.repeat(64)));
    expect(derivedInputs({ ...sqitch, packages: [...sqitch.packages, 'curl'] }, SHA)).not.toBe(derivedInputs(sqitch, SHA));
  });
});

describe('Dockerfiles of the derived images', () => {
  it('sqitch: FROM the local Debian tag, one apt layer with sqitch, the Pg driver and the client', () => {
    const sqitch = DERIVED_IMAGES.find((image) => image.key === 'sqitch');
    expect(sqitch?.ref).toBe('10.201.0.1:5000/testbed/sqitch:bookworm');
    expect(derivedDockerfile(sqitch!)).toBe(
      [
        `FROM ${DEBIAN_LOCAL_REF}`,
        'ARG DEBIAN_FRONTEND=noninteractive',
        'RUN apt-get update && apt-get install -y --no-install-recommends sqitch libdbd-pg-perl postgresql-client && rm -rf /var/lib/apt/lists/*',
        '',
      ].join('\n'),
    );
  });

  it('pg-client: postgresql-client (pg_dump), checked by `pg_dump --version`', () => {
    const pgClient = DERIVED_IMAGES.find((image) => image.key === 'pg_client');
    expect(pgClient?.ref).toBe('10.201.0.1:5000/testbed/pg-client:bookworm');
    expect(derivedDockerfile(pgClient!)).toContain('apt-get install -y --no-install-recommends postgresql-client &&');
    expect(pgClient?.check).toContainEqual(['pg_dump', '--version']);
  });
});

describe('cacheIsUsable', () => {
  const meta = { recipe: DEBIAN_RECIPE_VERSION, suite: 'bookworm', variant: 'minbase', created_at: '2026-12-02T00:00:00Z', bytes: 1234, sha256: SHA, debootstrap_seconds: 40 };

  it('trusts a tarball whose size matches its metadata', () => {
    expect(cacheIsUsable(meta, 1234)).toBe(true);
  });

  it('rejects a missing or torn tarball, missing metadata, another suite or recipe, a bad hash', () => {
    expect(cacheIsUsable(meta, undefined)).toBe(false);
    expect(cacheIsUsable(meta, 1000)).toBe(false);
    expect(cacheIsUsable(undefined, 1234)).toBe(false);
    expect(cacheIsUsable({ ...meta, suite: 'trixie' }, 1234)).toBe(false);
    expect(cacheIsUsable({ ...meta, recipe: DEBIAN_RECIPE_VERSION - 1 }, 1234)).toBe(false);
    expect(cacheIsUsable({ ...meta, sha256: 'nope' }, 1234)).toBe(false);
    expect(cacheIsUsable({ suite: 'bookworm', bytes: 1234, sha256: SHA }, 1234)).toBe(false);
  });
});
