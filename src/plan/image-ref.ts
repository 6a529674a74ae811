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
