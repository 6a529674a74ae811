/**
 * The expand/contract guard: a destructive or incompatible statement in a migration that would run
 * before the rollout breaks the version still serving. The lint's findings are matched to the
 * planned steps; the deploy refuses (exit 2) before anything runs unless each is accepted
 * (`-- stagecraft:allow RULE reason`) or moved after the rollout (`-- stagecraft:post-deploy`).
 */
import path from 'node:path';
import { RefusedError } from '../../errors.js';
import type { DatabaseRunPlan, StepFinding } from '../orchestrate/migration-plan.js';
import type { MigrationEntry } from '../types.js';
import { migrationsDir } from '../raw/files.js';
import { lintFile, newLintMemory } from './lint.js';
import { databaseSources } from './sources.js';
import type { SourceSettings } from './sources.js';
import type { AcceptedFinding, Finding, LintResult } from './types.js';

/** Classes that break the serving version when they run before it is replaced. */
const BEFORE_ROLLOUT_UNSAFE = new Set<Finding['class']>(['destructive', 'incompatible']);

export interface StepFindings {
  database: string;
  id: string;
  /** As messages show it: `db/main/0002_drop_legacy.sql`. */
  file: string;
  findings: Finding[];
  accepted: AcceptedFinding[];
}

/** Lints a database's files (in the order they apply), keyed by each file's displayed path. */
export async function lintDatabase(configDir: string, settings: SourceSettings, environment: string): Promise<Map<string, LintResult>> {
  const sources = await databaseSources(configDir, settings, environment);
  const results = new Map<string, LintResult>();
  if (!sources.linted) return results;
  const memory = newLintMemory();
  for (const file of sources.files) results.set(file.path, await lintFile(file, memory));
  return results;
}

/** Pure: the lint results of the migrations a plan applies, step by step (steps with a file). */
export function findingsOfSteps(plan: DatabaseRunPlan, migrationsPath: string | undefined, configDir: string, lint: ReadonlyMap<string, LintResult>): StepFindings[] {
  const { display } = migrationsDir(configDir, migrationsPath ?? '.');
  return (plan.steps ?? []).flatMap((step) => {
    if (step.file === undefined) return [];
    const file = path.join(display, step.file);
    const result = lint.get(file);
    if (!result || (result.findings.length === 0 && result.accepted.length === 0)) return [];
    return [{ database: plan.database, id: step.id, file, findings: result.findings, accepted: result.accepted }];
  });
}

export interface UnsafeStep {
  database: string;
  /** As messages show it: `db/main/0002_drop_legacy.sql`. */
  file: string;
  finding: StepFinding;
}

/** Pure: the findings of a linted plan (see lintPlan) that must not run before the rollout. */
export function unsafeBeforeRollout(plan: DatabaseRunPlan, displayDir: string): UnsafeStep[] {
  return (plan.steps ?? []).flatMap((step) =>
    (step.findings ?? [])
      .filter((finding) => BEFORE_ROLLOUT_UNSAFE.has(finding.class))
      .map((finding) => ({ database: plan.database, file: path.join(displayDir, step.file ?? step.id), finding })),
  );
}

/** The refusal naming each finding with file, line, rule and the two ways forward. */
export function guardRefusal(unsafe: readonly UnsafeStep[]): RefusedError {
  const lines = unsafe.map(({ database, file, finding }) => `${database}: ${file}:${finding.line}: ${finding.rule} (${finding.class}): ${finding.message} — fix: ${finding.fix}`);
  const rule = unsafe[0]?.finding.rule ?? 'RULE';
  return new RefusedError(
    `${unsafe.length} statement(s) would break the version still serving if they ran before the rollout; nothing was changed:\n  ${lines.join('\n  ')}`,
    {
      hint: `run them after every host switched: put "-- stagecraft:post-deploy" at the top of the file (or move it under post/), or, if it is safe here, accept it on the line above the statement: -- stagecraft:allow ${rule} <why>`,
    },
  );
}

/** Pure: the plan with each step's lint findings attached (the plan carries every non-secret fact). */
export function withFindings(plan: DatabaseRunPlan, steps: readonly StepFindings[]): DatabaseRunPlan {
  if (plan.steps === null || steps.length === 0) return plan;
  const byId = new Map(steps.map((step) => [step.id, step]));
  const brief = ({ rule, class: riskClass, line, message, fix }: Finding) => ({ rule, class: riskClass, line, message, fix });
  return {
    ...plan,
    steps: plan.steps.map((step) => {
      const found = byId.get(step.id);
      if (!found) return step;
      return {
        ...step,
        ...(found.findings.length > 0 ? { findings: found.findings.map(brief) } : {}),
        ...(found.accepted.length > 0 ? { accepted: found.accepted.map((a) => ({ ...brief(a), reason: a.reason })) } : {}),
      };
    }),
  };
}

/**
 * Lints a database's SQL files (the project's, at migrations.path) and attaches the findings to the
 * plan's steps by file; engines whose migrations are not SQL leave the plan as it is.
 */
export async function lintPlan(plan: DatabaseRunPlan, configDir: string, settings: SourceSettings, environment: string): Promise<DatabaseRunPlan> {
  if (!plan.steps?.length) return plan;
  const lint = await lintDatabase(configDir, settings, environment);
  return withFindings(plan, findingsOfSteps(plan, settings.path, configDir, lint));
}

/** The lint's findings on each migration of `migrate plan` (its risk column), by file. */
export async function lintEntries(entries: readonly MigrationEntry[], configDir: string, settings: SourceSettings, environment: string): Promise<MigrationEntry[]> {
  if (!entries.some((entry) => entry.file !== undefined)) return [...entries];
  const lint = await lintDatabase(configDir, settings, environment);
  const { display } = migrationsDir(configDir, settings.path ?? '.');
  const brief = ({ rule, class: riskClass, line, message, fix }: Finding) => ({ rule, class: riskClass, line, message, fix });
  return entries.map((entry) => {
    const result = entry.file === undefined ? undefined : lint.get(path.join(display, entry.file));
    if (!result) return entry;
    return {
      ...entry,
      ...(result.findings.length > 0 ? { findings: result.findings.map(brief) } : {}),
      ...(result.accepted.length > 0 ? { accepted: result.accepted.map((a) => ({ ...brief(a), reason: a.reason })) } : {}),
    };
  });
}
