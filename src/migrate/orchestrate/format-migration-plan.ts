/** Text rendering of a MigrationPlan (`migrate run --dry-run`, `migrate rollback --dry-run`). */
import type { DatabaseRunPlan, MigrationPlan, MigrationStep } from './migration-plan.js';

/** `risk high · "Adds the plan column" · tables users, plans · ~45s · after 0002_users`: what is known of a migration. */
export function describeStep(step: Pick<MigrationStep, 'risk_level' | 'description' | 'affects_tables' | 'estimated_duration' | 'depends_on'>): string {
  return [
    step.risk_level ? `risk ${step.risk_level}` : '',
    step.description ? JSON.stringify(step.description) : '',
    step.affects_tables?.length ? `tables ${step.affects_tables.join(', ')}` : '',
    step.estimated_duration ? `~${step.estimated_duration}` : '',
    step.depends_on.length ? `after ${step.depends_on.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

function stepLine(step: MigrationStep): string {
  const about = describeStep(step);
  const flag = step.direction === 'up' && step.risk_level === 'high' ? '⚠ ' : '  ';
  return `  ${flag}${step.direction === 'up' ? 'apply ' : 'revert'} ${step.id}${step.retry ? ' (failed before: retried)' : ''}${about ? `  ${about}` : ''}`;
}

/** The risk lint's findings under a step: `✖ line 3: drop-column (destructive) … — fix: …`. */
export function findingLines(step: MigrationStep): string[] {
  return [
    ...(step.findings ?? []).map((f) => `      ✖ line ${f.line}: ${f.rule} (${f.class}): ${f.message} — fix: ${f.fix}`),
    ...(step.accepted ?? []).map((f) => `      ✓ line ${f.line}: ${f.rule} (${f.class}) accepted: ${f.reason}`),
  ];
}

function databaseLines(plan: DatabaseRunPlan, kind: MigrationPlan['kind']): string[] {
  const phase = plan.phase === 'manual' ? 'manual' : `${plan.strategy} → ${plan.phase}`;
  const head = `${plan.database} [${plan.engine}, ${phase}]`;
  const verb = kind === 'run' ? 'apply' : 'roll back';
  const lines: string[] = [];
  if (plan.unreadable) lines.push(`${head}: status unknown: ${plan.unreadable}`);
  else if (plan.blocked) lines.push(`${head}: refuses: ${plan.blocked}`);
  else if (plan.steps === null) lines.push(`${head}: runs the tool, which applies whatever it finds pending`);
  else if (plan.steps.length === 0) lines.push(`${head}: nothing to ${verb}`);
  else lines.push(`${head}: would ${verb} ${plan.steps.length}`, ...plan.steps.flatMap((step) => [stepLine(step), ...findingLines(step)]));
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  return lines;
}

export function formatMigrationPlan(plan: MigrationPlan): string {
  const title = plan.kind === 'run' ? 'migrate run' : 'migrate rollback';
  const lines = [`${title}: ${plan.service} on ${plan.environment}${plan.image ? `, image ${plan.image}` : ''}${plan.to ? `, --to ${plan.to}` : ''}`];
  for (const database of plan.databases) lines.push(...databaseLines(database, plan.kind));
  lines.push(...highRiskLines(plan.high_risk));
  return lines.join('\n');
}

/** The warning printed before high-risk migrations apply (plan, dry run, deploy output). */
export function highRiskLines(highRisk: MigrationPlan['high_risk']): string[] {
  if (highRisk.length === 0) return [];
  return [`⚠ high risk (risk_level: high in dependencies.json): ${highRisk.map((h) => `${h.database}: ${h.id}${h.description ? ` (${h.description})` : ''}`).join(', ')}`];
}
