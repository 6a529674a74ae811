/** What `migrate run` prints after a fan-out: a table per target, or the `--json` document. */
import { formatDuration } from '../../releases/format.js';
import type { TargetResult, TargetStatus } from './fan-out.js';

/** Where a fan-out key (`main/tenant_a`, or `main` for a database without targets) points. */
export interface TargetName {
  key: string;
  database: string;
  target?: string | undefined;
}

export interface TargetResultJson {
  environment: string;
  database: string;
  /** null for a database without targets. */
  target: string | null;
  status: TargetStatus;
  applied: string[];
  duration_ms: number;
  error: string | null;
}

/** `{"targets": [...]}`, in the order the targets were planned. */
export function fanOutJson(environment: string, names: readonly TargetName[], results: readonly TargetResult[]): { targets: TargetResultJson[] } {
  const byKey = new Map(names.map((name) => [name.key, name]));
  return {
    targets: results.map((result) => {
      const name = byKey.get(result.target);
      return {
        environment,
        database: name?.database ?? result.target,
        target: name?.target ?? null,
        status: result.status,
        applied: [...result.applied],
        duration_ms: result.duration_ms,
        error: result.error ?? null,
      };
    }),
  };
}

/** A table: TARGET, STATUS, APPLIED (the ids), DURATION, ERROR; `-` where there is nothing. */
export function formatFanOutTable(results: readonly TargetResult[]): string {
  const rows = [
    ['TARGET', 'STATUS', 'APPLIED', 'DURATION', 'ERROR'],
    ...results.map((result) => [
      result.target,
      result.status,
      result.applied.length > 0 ? result.applied.join(', ') : '-',
      result.status === 'not_started' ? '-' : formatDuration(result.duration_ms),
      result.error ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  // The error column is last and not padded: a long message stays on its line.
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n');
}

/** The count line under the table: `4 targets: 2 completed, 1 failed, 1 not_started`. */
export function fanOutSummary(results: readonly TargetResult[]): string {
  const counts = new Map<TargetStatus, number>();
  for (const result of results) counts.set(result.status, (counts.get(result.status) ?? 0) + 1);
  return `${results.length} target(s): ${[...counts].map(([status, count]) => `${count} ${status}`).join(', ')}`;
}
