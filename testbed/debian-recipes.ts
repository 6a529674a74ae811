import { createHash } from 'node:crypto';
import { REGISTRY_SERVER } from './registry.js';

/**
 * Pure parts of the Debian images step: where apt's mirror is, what the images are called,
 * the Dockerfiles of the derived images and the fingerprints (labels) that decide rebuilds.
 */

export const DEBIAN_SUITE = 'bookworm';
/** Bump when the way the root filesystem is made or imported changes: the base image is re-imported. */
export const DEBIAN_RECIPE_VERSION = 1;
export const INPUTS_LABEL = 'org.stagecraft.testbed.inputs';
export const ROOTFS_LABEL = 'org.stagecraft.testbed.rootfs-sha256';
export const DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Local tag on the operator engine, so `FROM debian:bookworm-slim` Dockerfiles build there. */
export const DEBIAN_LOCAL_REF = `debian:${DEBIAN_SUITE}-slim`;
export const DEBIAN_REGISTRY_REF = `${REGISTRY_SERVER}/testbed/debian:${DEBIAN_SUITE}-slim`;

export interface DerivedImage {
  key: 'sqitch' | 'pg_client';
  ref: string;
  /** Debian packages installed on top of the base (--no-install-recommends). */
  packages: string[];
  /** Commands that must exit 0 in the image (the e2e test and `up` run them). */
  check: string[][];
}

export const DERIVED_IMAGES: readonly DerivedImage[] = [
  {
    key: 'sqitch',
    ref: `${REGISTRY_SERVER}/testbed/sqitch:${DEBIAN_SUITE}`,
    packages: ['sqitch', 'libdbd-pg-perl', 'postgresql-client'],
    check: [['sqitch', '--version'], ['psql', '--version']],
  },
  {
    key: 'pg_client',
    ref: `${REGISTRY_SERVER}/testbed/pg-client:${DEBIAN_SUITE}`,
    packages: ['postgresql-client'],
    check: [['pg_dump', '--version']],
  },
];

export interface AptMirror {
  uri: string;
  suite: string;
}

function isMainSuite(suite: string): boolean {
  return !/-(security|updates|backports|proposed-updates)$/.test(suite) && !suite.includes('/');
}

/**
 * The archive URI of the first enabled deb822 stanza (`/etc/apt/sources.list.d/*.sources`) that
 * serves a main suite (not -security/-updates), preferring one that lists `preferSuite`.
 */
export function mirrorFromDeb822(text: string, preferSuite = DEBIAN_SUITE): AptMirror | undefined {
  const stanzas: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  let lastKey: string | undefined;
  const flush = (): void => {
    if (Object.keys(current).length > 0) stanzas.push(current);
    current = {};
    lastKey = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.trimStart().startsWith('#')) continue;
    if (/^\s/.test(line)) {
      if (lastKey) current[lastKey] = `${current[lastKey] ?? ''} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim().toLowerCase();
    current[lastKey] = line.slice(colon + 1).trim();
  }
  flush();
  const candidates: AptMirror[] = [];
  for (const stanza of stanzas) {
    const words = (key: string): string[] => (stanza[key] ?? '').split(/\s+/).filter((word) => word !== '');
    if (!words('types').includes('deb')) continue;
    if ((stanza.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const uri = words('uris').find((candidate) => /^https?:\/\//.test(candidate));
    const suite = words('suites').find(isMainSuite);
    if (uri && suite) candidates.push({ uri, suite });
  }
  return candidates.find((candidate) => candidate.suite === preferSuite) ?? candidates[0];
}

/** The same from one-line style (`deb [options] URI SUITE COMPONENTS...`, /etc/apt/sources.list). */
export function mirrorFromSourcesList(text: string, preferSuite = DEBIAN_SUITE): AptMirror | undefined {
  const candidates: AptMirror[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const withoutOptions = line.replace(/\[[^\]]*\]/, ' ');
    const words = withoutOptions.split(/\s+/).filter((word) => word !== '');
    if (words[0] !== 'deb' || words.length < 3) continue;
    const [, uri, suite] = words as [string, string, string];
    if (/^https?:\/\//.test(uri) && isMainSuite(suite)) candidates.push({ uri, suite });
  }
  return candidates.find((candidate) => candidate.suite === preferSuite) ?? candidates[0];
}

/** Picks the mirror from apt's files as read from disk: .sources files first, then .list files. */
export function chooseMirror(files: ReadonlyArray<{ path: string; text: string }>, preferSuite = DEBIAN_SUITE): AptMirror | undefined {
  const ordered = [...files].sort((a, b) => Number(!a.path.endsWith('.sources')) - Number(!b.path.endsWith('.sources')) || a.path.localeCompare(b.path));
  const found = ordered
    .map((file) => (file.path.endsWith('.sources') ? mirrorFromDeb822(file.text, preferSuite) : mirrorFromSourcesList(file.text, preferSuite)))
    .filter((mirror): mirror is AptMirror => mirror !== undefined);
  return found.find((mirror) => mirror.suite === preferSuite) ?? found[0];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Label of the base image: which root filesystem tarball it was imported from, and how. */
export function debianInputs(rootfsSha256: string): string {
  return sha256(JSON.stringify({ version: DEBIAN_RECIPE_VERSION, suite: DEBIAN_SUITE, rootfs: rootfsSha256, path: DEBIAN_PATH }));
}

/** `docker import --change` instructions of the base image. */
export function debianImportChanges(rootfsSha256: string): string[] {
  return [`ENV PATH=${DEBIAN_PATH}`, `LABEL ${INPUTS_LABEL}=${debianInputs(rootfsSha256)}`, `LABEL ${ROOTFS_LABEL}=${rootfsSha256}`, 'CMD ["bash"]'];
}

export function derivedDockerfile(image: DerivedImage): string {
  return [
    `FROM ${DEBIAN_LOCAL_REF}`,
    'ARG DEBIAN_FRONTEND=noninteractive',
    `RUN apt-get update && apt-get install -y --no-install-recommends ${image.packages.join(' ')} && rm -rf /var/lib/apt/lists/*`,
    '',
  ].join('\n');
}

/** Label of a derived image: its Dockerfile and the root filesystem under it (not the base's image ID, which changes on every import). */
export function derivedInputs(image: DerivedImage, rootfsSha256: string): string {
  return sha256(JSON.stringify({ dockerfile: derivedDockerfile(image), rootfs: rootfsSha256 }));
}

/** What `<cache>/debian-bookworm-minbase.json` holds next to the tarball. */
export interface RootfsCacheMeta {
  /** DEBIAN_RECIPE_VERSION of the code that made it: a tarball made differently is not reused. */
  recipe: number;
  suite: string;
  variant: 'minbase';
  created_at: string;
  bytes: number;
  sha256: string;
  /** Seconds debootstrap took when the tarball was made. */
  debootstrap_seconds: number;
}

/** The tarball is trusted only with its metadata, and only when the sizes agree (a torn write never matches). */
export function cacheIsUsable(meta: unknown, tarballBytes: number | undefined): meta is RootfsCacheMeta {
  if (tarballBytes === undefined || typeof meta !== 'object' || meta === null) return false;
  const candidate = meta as Partial<RootfsCacheMeta>;
  return candidate.recipe === DEBIAN_RECIPE_VERSION && candidate.suite === DEBIAN_SUITE && candidate.bytes === tarballBytes && typeof candidate.sha256 === 'string' && /^[0-9a-f]{64}$/.test(candidate.sha256);
}
