import { describe, expect, it } from 'vitest';
import { formatReleaseDetail } from '../../../src/releases/format.js';
import type { Release } from '../../../src/releases/record.js';
import { invalidRecordReason, parseReleasesFile, serializeReleasesFile } from '../../../src/releases/schema.js';
import { makeRelease } from './fixtures/make-release.js';

/** The release's `backups` (databases.X.backup): optional in the file, printed by `releases show`. */

const ID = 'rel-20261122-093012345';

function release(overrides: Partial<Release> = {}): Release {
  return { ...makeRelease(overrides), id: ID } as Release;
}

const COMPLETED = {
  database: 'main',
  status: 'completed' as const,
  reason: 'destructive: 0002_drop_legacy (drop-column)',
  name: `hello-main-${ID}`,
  duration_ms: 1234,
  log_tail: ['dumped 3 rows of accounts'],
};
const FAILED = { database: 'events', status: 'failed' as const, reason: 'when: always (0005_x)', duration_ms: 80, log_tail: ['pg_dump: error: \u001b[31mconnection refused\u001b[0m'], error: 'exited 1' };

describe('release backups', () => {
  it('a record without backups (older files) still parses; one with them round-trips', () => {
    const old = release();
    expect(parseReleasesFile(serializeReleasesFile([old]), 'releases.json')).toEqual([old]);
    const withBackups = release({ backups: [COMPLETED, FAILED] });
    expect(invalidRecordReason(withBackups)).toBeUndefined();
    expect(parseReleasesFile(serializeReleasesFile([withBackups]), 'releases.json')).toEqual([withBackups]);
  });

  it('the schema is strict: an unknown status, a missing reason or an unknown key is refused', () => {
    expect(invalidRecordReason(release({ backups: [{ ...COMPLETED, status: 'skipped' as never }] }))).toMatch(/^backups\[0\]\.status: /);
    const { reason: _reason, ...noReason } = COMPLETED;
    expect(invalidRecordReason(release({ backups: [noReason as never] }))).toMatch(/^backups\[0\]\.reason: /);
    expect(invalidRecordReason(release({ backups: [{ ...COMPLETED, url: 'postgres://x' } as never] }))).toMatch(/^backups\[0\]: .*url/);
  });

  it('releases show prints each backup: status, duration, name, reason, error and log tail', () => {
    const text = formatReleaseDetail(release({ backups: [COMPLETED, FAILED] }), { isCurrent: false });
    expect(text.split('\n').slice(text.split('\n').indexOf('backups'))).toEqual([
      'backups',
      `  main  completed  1.2s  hello-main-${ID}`,
      '    reason: destructive: 0002_drop_legacy (drop-column)',
      '    log:',
      '      | dumped 3 rows of accounts',
      '  events  failed  80ms',
      '    reason: when: always (0005_x)',
      '    error: exited 1',
      '    log:',
      '      | pg_dump: error: connection refused',
      '',
    ]);
    expect(formatReleaseDetail(release(), { isCurrent: false })).not.toContain('backups');
  });
});
