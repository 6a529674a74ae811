/** `stagecraft releases list|show`: read-only views of the release store. No stagecraft.yml needed. */
import { formatReleaseDetail, formatReleaseTable } from '../../releases/format.js';
import { releasesFilePath } from '../../releases/paths.js';
import { currentReleaseIds, ReleaseStore, unknownReleaseError } from '../../releases/store.js';

export interface ReleasesListOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  json: boolean;
}

export interface ReleasesShowOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  id: string;
  json: boolean;
}

export async function runReleasesList(options: ReleasesListOptions): Promise<void> {
  const store = new ReleaseStore(releasesFilePath(options.config));
  const environment = options.env === undefined || options.env === '' ? undefined : options.env;
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
  const releases = await store.list();
  const release = releases.find((candidate) => candidate.id === options.id);
  if (release === undefined) throw unknownReleaseError(options.id, releases);

  if (options.json) {
    process.stdout.write(`${JSON.stringify(release, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatReleaseDetail(release, { isCurrent: currentReleaseIds(releases).has(release.id) }));
}
