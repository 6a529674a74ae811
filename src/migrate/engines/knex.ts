/** knex: `knex migrate:latest` applies, `knex migrate:list` tells what is completed and pending. */
import type { DatabaseState, MigrationEngine, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import type { ToolRun } from './container-tool.js';
import { KNEX_BIN as KNEX, applyCommand } from '../engine-commands.js';
import { describeToolFailure, toolEngine } from './tool-engine.js';
import { lastMeaningfulLines, outputLines } from './tool-output.js';
import { readKnexPlan } from './knex-plan.js';


const SECTION = /^(?:Found (\d+) (Completed|Pending) Migration file\/files\.|No (Completed|Pending) Migration files Found\.)$/;

/** Parses `knex migrate:list` (knex 0.95–3.x wording). */
export function parseKnexList(run: ToolRun): DatabaseState {
  if (run.exitCode !== 0) return unreadable(describeToolFailure(run));
  const applied: string[] = [];
  const pending: string[] = [];
  const announced = { Completed: -1, Pending: -1 };
  let section: string[] | undefined;
  let sawSection = false;
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const text = line.trim();
    if (text === '' || text.startsWith('Using environment:') || text.startsWith('Working directory changed to') || text.startsWith('Requiring external module')) continue;
    const match = SECTION.exec(text);
    if (match) {
      sawSection = true;
      const kind = (match[2] ?? match[3]) as 'Completed' | 'Pending';
      announced[kind] = match[1] === undefined ? 0 : Number(match[1]);
      section = kind === 'Completed' ? applied : pending;
      continue;
    }
    if (!section) return unreadable(`unexpected output from knex migrate:list: "${text}"`);
    section.push(text);
  }
  if (!sawSection) return unreadable(`knex migrate:list printed no status: ${lastMeaningfulLines(run.stdout + run.stderr) || '(no output)'}`);
  if (announced.Completed !== applied.length || announced.Pending !== pending.length) {
    return unreadable(`knex migrate:list output is inconsistent (announced ${announced.Completed} completed / ${announced.Pending} pending, listed ${applied.length} / ${pending.length})`);
  }
  const migrations: MigrationEntry[] = [
    ...applied.map((id): MigrationEntry => ({ id, state: 'applied' })),
    ...pending.map((id): MigrationEntry => ({ id, state: 'pending' })),
  ];
  return { readable: true, migrations, applied_count: applied.length, pending_known: true, notes: [] };
}

/** `migration file "0004_bad.js" failed`, as knex prints it. */
export function knexFailedMigration(run: ToolRun): string | undefined {
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const match = /^migration file "(.+)" failed$/.exec(line.trim());
    if (match) return match[1];
  }
  return undefined;
}

const knexTool = toolEngine({
  name: 'knex',
  applyCommand: (target) => applyCommand({ ...target.migrations, command: undefined }),
  statusCommand: () => [KNEX, 'migrate:list'],
  parseStatus: parseKnexList,
  failedMigration: knexFailedMigration,
});

/**
 * `run` reads the status with `knex migrate:list` around the apply (creating knex's tables then is
 * fine: the run creates them anyway); `plan` must write nothing, so it reads knex's table itself
 * (see knex-plan.ts) unless `plan_command` names the user's own status command.
 */
export const knexEngine: MigrationEngine = {
  ...knexTool,
  plan: (target) => (target.migrations.plan_command ? knexTool.plan(target) : readKnexPlan(target)),
};
