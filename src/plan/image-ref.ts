/** Image references: `registry:5000/repo:tag`, `repo@sha256:…`, `busybox`. Pure string work. */

/** Splits a reference into what the pull API takes: the repository and a tag or digest. */
export function splitImageRef(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: 'latest' };
}

/** The same image pinned to a digest: what runs is exactly what was pushed, even if the tag moves. */
export function pinnedRef(ref: string, digest: string): string {
  return `${splitImageRef(ref).repository}@${digest}`;
}

/** The image a release ran, pinned to its recorded digest when there is one. */
export function recordedImageRef(image: { ref: string; digest?: string | undefined }): string {
  return image.digest ? pinnedRef(image.ref, image.digest) : image.ref;
}

/** The digest a reference is pinned to, if it is. */
export function digestOf(ref: string): string | undefined {
  return /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];
}

/** Docker Hub's names: references without a registry host mean it, and so do these. */
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

function canonicalHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/**
 * The registry host (with port) an image reference pulls from, normalised the way docker does:
 * the first path component is a registry host only if it contains `.` or `:`, is `localhost`, or
 * has upper-case letters (repository names cannot); otherwise the image is on Docker Hub
 * (`busybox`, `acme/app`), and Docker Hub's aliases all become `docker.io`.
 */
export function registryHostOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = ref.slice(0, slash);
  const isHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  return isHost ? canonicalHost(first) : DOCKER_HUB;
}

/**
 * `registry.server` as written (`registry.example.com:5000`, `https://index.docker.io/v1/`, `Docker.io`)
 * as a registry host comparable with registryHostOf: no scheme, no path, lower case, Hub aliases unified.
 */
export function normalizeRegistryServer(server: string): string {
  const withoutScheme = server.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return canonicalHost(withoutScheme.split('/')[0] ?? '');
}

/**
 * The one rule for registry credentials: they go with a pull only when the image's registry host is
 * `registry.server`. An image on any other registry (a recorded ref from elsewhere, `--skip-build`
 * with another registry's image, the proxy's public image) is pulled without them.
 */
export function credentialsFor<T extends { serveraddress: string }>(ref: string, auth: T | undefined): T | undefined {
  if (auth === undefined) return undefined;
  const server = normalizeRegistryServer(auth.serveraddress);
  return server !== '' && server === registryHostOf(ref) ? auth : undefined;
}
