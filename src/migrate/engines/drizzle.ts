/** drizzle: `drizzle-kit migrate` applies; drizzle-kit has no status command. */
import { parseStatusLines, STATUS_LINES_FORMAT } from './status-lines.js';
import { applyCommand } from '../engine-commands.js';
import { toolEngine } from './tool-engine.js';

export const drizzleEngine = toolEngine({
  name: 'drizzle',
  applyCommand: (target) => applyCommand({ ...target.migrations, command: undefined }),
  noStatusReason: `drizzle-kit has no status command; to see one here, set migrations.plan_command to a command printing ${STATUS_LINES_FORMAT}`,
  parseStatus: parseStatusLines,
});
