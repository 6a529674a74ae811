/**
 * command: the user's own `migrations.command`, run in the app image; `plan_command`, when given,
 * prints the status in the documented line format.
 */
import { parseStatusLines, STATUS_LINES_FORMAT } from './status-lines.js';
import { toolEngine } from './tool-engine.js';

export const commandEngine = toolEngine({
  name: 'command',
  // The schema requires `command` for this engine; this is only reached by hand-built configs.
  applyCommand: () => {
    throw new Error('engine command needs migrations.command');
  },
  noStatusReason: `engine command has no plan_command: set migrations.plan_command to a command printing ${STATUS_LINES_FORMAT}`,
  parseStatus: parseStatusLines,
});
