/**
 * Release ids: `rel-YYYYMMDD-HHMMSSmmm` in UTC, so sorting ids as strings sorts them in
 * time. Releases that share a millisecond get `-002`, `-003`, … (zero-padded, so the
 * string order stays the numeric order; the bare id sorts before its suffixed siblings).
 */

const ID_PATTERN = /^rel-(\d{8}-\d{9})(?:-(\d{3}))?$/;
const MAX_SUFFIX = 999;

/**
 * A new id, unique among `existingIds` and sorting after every well-formed one of them.
 * If the clock stepped back behind the newest existing id, the new id reuses the newest
 * timestamp with the next suffix, so append order and id order never disagree.
 */
export function newReleaseId(now: Date, existingIds: Iterable<string>): string {
  let stamp = formatStamp(now);
  let highestSuffix = 0;
  for (const id of existingIds) {
    const parsed = ID_PATTERN.exec(id);
    if (!parsed) continue;
    const existingStamp = parsed[1] as string;
    const suffix = parsed[2] === undefined ? 1 : Number(parsed[2]);
    if (existingStamp > stamp) {
      stamp = existingStamp;
      highestSuffix = suffix;
    } else if (existingStamp === stamp) {
      highestSuffix = Math.max(highestSuffix, suffix);
    }
  }
  if (highestSuffix === 0) return `rel-${stamp}`;
  const next = highestSuffix + 1;
  if (next > MAX_SUFFIX) {
    // Unreachable in practice (a thousand releases in one millisecond); refuse rather than mis-sort.
    throw new Error(`more than ${MAX_SUFFIX} release ids in one millisecond (rel-${stamp})`);
  }
  return `rel-${stamp}-${String(next).padStart(3, '0')}`;
}

export function isReleaseId(value: string): boolean {
  return ID_PATTERN.test(value);
}

function formatStamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error('newReleaseId: invalid date');
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const day = `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;
  const time = `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}${pad(date.getUTCMilliseconds(), 3)}`;
  return `${day}-${time}`;
}
