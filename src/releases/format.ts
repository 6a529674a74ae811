/** Human-readable views of release records for `stagecraft releases list|show`. */
import { stripVTControlCharacters } from 'node:util';
import { PHASE_NAMES, releaseDurationMs, type PhaseRecord, type Release } from './record.js';

const CURRENT_MARK = '*';

/** The `releases list` table, rows in the given order; `currentIds` get a `*`. */
export function formatReleaseTable(releases: readonly Release[], currentIds: ReadonlySet<string>): string {
  const header = ['', 'ID', 'ENV', 'VERSION', 'STATUS', 'STARTED (UTC)', 'DURATION', 'KIND'];
  const rows = releases.map((release) => [
    currentIds.has(release.id) ? CURRENT_MARK : '',
    release.id,
    printable(release.environment),
    printable(release.version),
    release.status,
    formatTimestamp(release.started_at),
    formatOptionalDuration(releaseDurationMs(release)),
    release.kind,
  ]);
  const lines = alignColumns([header, ...rows]);
  if (releases.some((release) => currentIds.has(release.id))) {
    lines.push('', `${CURRENT_MARK} current release of its environment`);
  }
  return `${lines.join('\n')}\n`;
}

/** The `releases show` view of one record. */
export function formatReleaseDetail(release: Release, options: { isCurrent: boolean }): string {
  const out: string[] = [];
  const title = [release.id, release.kind, release.status];
  if (options.isCurrent) title.push(`(current release of ${printable(release.environment)})`);
  out.push(title.join('  '));

  const image = release.image.digest ? `${release.image.ref}@${release.image.digest}` : release.image.ref;
  const duration = releaseDurationMs(release);
  const facts: Array<[string, string | undefined]> = [
    ['environment', release.environment],
    ['service', release.service],
    ['version', release.version],
    ['image', image],
    ['commit', release.commit],
    ['actor', release.actor],
    ['started', `${formatTimestamp(release.started_at)} UTC`],
    ['finished', release.finished_at && `${formatTimestamp(release.finished_at)} UTC (took ${formatOptionalDuration(duration)})`],
    ['previous', release.previous_id],
    ['rollback of', release.rollback_of],
  ];
  out.push(...indent(alignColumns(facts.filter(hasValue).map(([key, value]) => [key, printable(value)]))));

  out.push('', 'phases');
  const phaseRows = PHASE_NAMES.map((name) => {
    const phase = release.phases[name];
    return [name, phase.status, formatOptionalDuration(phaseDurationMs(phase)), phase.error ? `error: ${oneLine(phase.error)}` : ''];
  });
  out.push(...indent(alignColumns(phaseRows)));

  out.push('', 'hosts');
  if (release.hosts.length === 0) out.push('  (none)');
  out.push(
    ...indent(
      alignColumns(
        release.hosts.map((host) => [
          printable(host.address),
          host.status,
          printable(host.container ?? ''),
          host.error ? `error: ${oneLine(host.error)}` : '',
        ]),
      ),
    ),
  );

  out.push('', 'migrations');
  if (release.migrations.length === 0) out.push('  (none)');
  for (const migration of release.migrations) {
    const summary = [
      printable(migration.database),
      printable(migration.engine),
      printable(migration.strategy),
      migration.status,
      `${migration.applied.length} applied`,
    ];
    if (migration.duration_ms !== undefined) summary.push(formatDuration(migration.duration_ms));
    out.push(`  ${summary.join('  ')}`);
    if (migration.error) out.push(`    error: ${oneLine(migration.error)}`);
    if (migration.steps?.length) {
      for (const step of migration.steps) {
        const about = [
          step.duration_ms !== undefined ? formatDuration(step.duration_ms) : '',
          step.risk_level ? `risk ${printable(step.risk_level)}` : '',
          step.description ? printable(step.description) : '',
          step.affects_tables?.length ? `tables ${step.affects_tables.map(printable).join(', ')}` : '',
          step.estimated_duration ? `estimated ${printable(step.estimated_duration)}` : '',
        ].filter(Boolean);
        out.push(`    ${step.outcome.padEnd(8)} ${printable(step.id)}${about.length ? `  ${about.join(' · ')}` : ''}`);
        for (const accepted of step.accepted ?? []) out.push(`      accepted ${printable(accepted.rule)} (line ${accepted.line}): ${printable(accepted.reason)}`);
      }
    } else if (migration.applied.length > 0) out.push(`    applied: ${migration.applied.map(printable).join(', ')}`);
    if (migration.log_tail.length > 0) {
      out.push('    log:');
      out.push(...migration.log_tail.map((line) => `      | ${printable(line)}`));
    }
  }

  if (release.backups?.length) {
    out.push('', 'backups');
    for (const backup of release.backups) {
      const summary = [printable(backup.database), backup.status, formatDuration(backup.duration_ms), ...(backup.name ? [printable(backup.name)] : [])];
      out.push(`  ${summary.join('  ')}`, `    reason: ${oneLine(backup.reason)}`);
      if (backup.error) out.push(`    error: ${oneLine(backup.error)}`);
      if (backup.log_tail.length > 0) {
        out.push('    log:');
        out.push(...backup.log_tail.map((line) => `      | ${printable(line)}`));
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** `850ms`, `12.3s`, `1m04s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const totalSeconds = Math.floor(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `2026-11-22T09:30:12.345Z` → `2026-11-22 09:30:12` (UTC). */
export function formatTimestamp(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return printable(iso);
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

function formatOptionalDuration(ms: number | undefined): string {
  return ms === undefined ? '-' : formatDuration(ms);
}

function phaseDurationMs(phase: PhaseRecord): number | undefined {
  if (phase.duration_ms !== undefined) return phase.duration_ms;
  if (phase.started_at === undefined) return undefined;
  return releaseDurationMs({ started_at: phase.started_at, finished_at: phase.finished_at });
}

/** Pads every column but the last to its widest cell; trailing blanks trimmed. */
function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function indent(lines: string[]): string[] {
  return lines.map((line) => `  ${line}`);
}

function hasValue(entry: [string, string | undefined]): entry is [string, string] {
  return entry[1] !== undefined && entry[1] !== '';
}

/** Record text may come from remote output: one line, no escape sequences or control characters. */
function printable(text: string): string {
  return (
    stripVTControlCharacters(text)
      .replace(/\t/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]/g, '?')
  );
}

function oneLine(text: string): string {
  return printable(text.replace(/\s*\n\s*/g, ' ⏎ ').trim());
}
