/**
 * One release history for a team. Every record a deploy or rollback writes locally is also
 * appended to `~/.stagecraft/releases/<service>.jsonl` on the environment's primary host (a
 * line per write: the whole record as it was then), and before a command decides on `previous`,
 * a rollback target or the current release, the host's records are merged into the local file:
 * append-only, by id. Two machines deploying in turn then see one history, and a lost local
 * file is rebuilt from the host. This module is the pure part: the line format and the merge.
 */
import type { Release } from './record.js';
import { parseReleaseRecord } from './schema.js';

/** The host file's line for a record: JSON on one line (JSON.stringify escapes line breaks). */
export function historyLine(release: Release): string {
  return `${JSON.stringify(release)}\n`;
}

export interface ParsedHistory {
  /** The newest line of each id, in the order ids first appeared. */
  releases: Release[];
  /** Lines that are not a valid record (a torn last line, a newer format): skipped, counted. */
  skipped: Array<{ line: number; reason: string }>;
}

export function parseHistory(text: string): ParsedHistory {
  const byId = new Map<string, Release>();
  const skipped: ParsedHistory['skipped'] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      skipped.push({ line: index + 1, reason: 'not JSON' });
      return;
    }
    const parsed = parseReleaseRecord(data);
    if ('invalid' in parsed) skipped.push({ line: index + 1, reason: parsed.invalid });
    else byId.set(parsed.release.id, parsed.release);
  });
  return { releases: [...byId.values()], skipped };
}

const FINISHED = new Set<Release['status']>(['completed', 'failed', 'interrupted']);

/**
 * Which of two records of one release to keep: a finished one over a running one (the machine
 * that deployed may have failed to tell the host its end), then the one that finished later,
 * then the local one.
 */
export function newerRecord(local: Release, remote: Release): Release {
  const localDone = FINISHED.has(local.status);
  const remoteDone = FINISHED.has(remote.status);
  if (localDone !== remoteDone) return localDone ? local : remote;
  if ((remote.finished_at ?? '') > (local.finished_at ?? '')) return remote;
  return local;
}

export interface MergedHistory {
  releases: Release[];
  /** Ids the host had and the local file did not. */
  added: string[];
  /** Ids whose local record the host's newer one replaced. */
  updated: string[];
}

/** The local records with the host's merged in: nothing local is ever dropped; order by id (chronological). */
export function mergeHistories(local: readonly Release[], remote: readonly Release[]): MergedHistory {
  const merged = new Map(local.map((release) => [release.id, release]));
  const added: string[] = [];
  const updated: string[] = [];
  for (const release of remote) {
    const mine = merged.get(release.id);
    if (!mine) {
      merged.set(release.id, release);
      added.push(release.id);
    } else if (newerRecord(mine, release) !== mine) {
      merged.set(release.id, release);
      updated.push(release.id);
    }
  }
  if (added.length === 0 && updated.length === 0) return { releases: [...local], added, updated };
  const releases = [...merged.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { releases, added, updated };
}
