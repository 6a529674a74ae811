/**
 * `stagecraft releases list|show`: views of the release store. No stagecraft.yml needed; with
 * `--env` (and a stagecraft.yml that loads) the primary host's shared history is merged in first,
 * unless `--local`.
 */
import { formatReleaseDetail, formatReleaseTable } from '../../releases/format.js';
import { releasesFilePath } from '../../releases/paths.js';
import { currentReleaseIds, ReleaseStore, unknownReleaseError } from '../../releases/store.js';
import { mergeHostHistoryOf } from '../../apply/release-history.js';
import { loadForCommand } from '../context.js';

/** Merges the environment's shared history when one is named; never fails the view. */
async function mergeShared(store: ReleaseStore, options: { config?: string; env?: string; local: boolean }): Promise<void> {
  if (options.local || options.env === undefined || options.env === '') return;
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  let loaded;
  try {
    loaded = await loadForCommand({ ...(options.config ? { config: options.config } : {}), env: options.env });
  } catch (error) {
    warn(`shared release history not merged (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): showing this machine's records`);
    return;
  }
  await mergeHostHistoryOf(loaded, store, warn);
}

export interface ReleasesListOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  json: boolean;
  local: boolean;
}

export interface ReleasesShowOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  id: string;
  json: boolean;
  local: boolean;
}

export async function runReleasesList(options: ReleasesListOptions): Promise<void> {
  const store = new ReleaseStore(releasesFilePath(options.config));
  const environment = options.env === undefined || options.env === '' ? undefined : options.env;
  await mergeShared(store, options);
  const releases = await store.list(environment === undefined ? {} : { environment });

  if (options.json) {
    process.stdout.write(`${JSON.stringify(releases, null, 2)}\n`);
    return;
  }
  if (releases.length === 0) {
    const scope = environment === undefined ? '' : ` for environment "${environment}"`;
    process.stdout.write(`no releases yet${scope} (${store.displayPath})\n`);
    return;
  }
  process.stdout.write(formatReleaseTable(releases, currentReleaseIds(releases)));
}

export async function runReleasesShow(options: ReleasesShowOptions): Promise<void> {
  const store = new ReleaseStore(releasesFilePath(options.config));
  await mergeShared(store, options);
  const releases = await store.list();
  const release = releases.find((candidate) => candidate.id === options.id);
  if (release === undefined) throw unknownReleaseError(options.id, releases);

  if (options.json) {
    process.stdout.write(`${JSON.stringify(release, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatReleaseDetail(release, { isCurrent: currentReleaseIds(releases).has(release.id) }));
}
