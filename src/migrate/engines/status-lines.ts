/**
 * The status format for `plan_command` of the command engine (and of engines whose tool has no
 * status command): one migration per line, `<state> <id>`, state one of applied, pending,
 * failed, drifted. Blank lines and lines starting with `#` are ignored.
 */
import { MIGRATION_STATES } from '../types.js';
import type { DatabaseState, MigrationEntry, MigrationState } from '../types.js';
import { readableState, unreadable } from '../types.js';
import type { ToolRun } from './container-tool.js';
import { describeToolFailure } from './tool-engine.js';
import { outputLines } from './tool-output.js';

export const STATUS_LINES_FORMAT = 'one line per migration: "<applied|pending|failed|drifted> <id>"';

export function parseStatusLines(run: ToolRun): DatabaseState {
  if (run.exitCode !== 0) return unreadable(describeToolFailure(run));
  const migrations: MigrationEntry[] = [];
  for (const [index, line] of outputLines(run.stdout).entries()) {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    const space = text.search(/\s/);
    const state = (space < 0 ? text : text.slice(0, space)).toLowerCase();
    const id = space < 0 ? '' : text.slice(space).trim();
    if (!(MIGRATION_STATES as readonly string[]).includes(state) || id === '') {
      return unreadable(`${run.argv.join(' ')} line ${index + 1} is not "<state> <id>": "${text}" (expected ${STATUS_LINES_FORMAT})`);
    }
    migrations.push({ id, state: state as MigrationState });
  }
  return readableState(migrations);
}
