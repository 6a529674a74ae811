/** Text rendering of `migrate plan`. */
import type { DatabasePlan, MigratePlan } from './plan.js';
import { describeStep, highRiskLines } from './orchestrate/format-migration-plan.js';

function databaseHead(plan: DatabasePlan): string {
  const phase = plan.deploy_phase ?? 'not run by deploy';
  const head = `${plan.database} [${plan.engine}, ${plan.strategy} → ${phase}]`;
  if (!plan.readable) return `${head}: status unknown: ${plan.reason ?? 'not readable'}`;
  const pending = plan.pending_count === null ? 'pending unknown' : `${plan.pending_count} pending`;
  return `${head}: ${plan.applied_count} applied, ${pending}`;
}

function migrationLine(entry: DatabasePlan['migrations'][number]): string {
  const metadata = entry.metadata ?? {};
  const about = describeStep({ ...metadata, risk_level: metadata.risk_level ?? null, depends_on: entry.depends_on ?? [] });
  const extra = [entry.missing_file ? 'file missing' : '', entry.error ?? ''].filter(Boolean).join('; ');
  const flag = entry.state !== 'applied' && metadata.risk_level === 'high' ? '⚠' : ' ';
  const risk = riskColumn(entry);
  return ` ${flag}${entry.state.padEnd(8)} ${entry.id}${risk ? `  ${risk}` : ''}${about ? `  ${about}` : ''}${extra ? `  (${extra})` : ''}`;
}

/** `✖ destructive: drop-column:3` for findings, `✓ drop-column:3 accepted` for accepted ones. */
function riskColumn(entry: DatabasePlan['migrations'][number]): string {
  const found = (entry.findings ?? []).map((f) => `✖ ${f.class}: ${f.rule}:${f.line}`);
  const accepted = (entry.accepted ?? []).map((f) => `✓ ${f.rule}:${f.line} accepted`);
  return [...found, ...accepted].join(', ');
}

function runsLine(entries: MigratePlan['deploy']['migrate_pre']): string[] {
  if (entries.length === 0) return ['    no database'];
  return entries.map(({ database, would_run }) => {
    if (would_run === null) return `    ${database}: unknown (status not readable)`;
    return `    ${database}: ${would_run.length === 0 ? 'nothing pending' : would_run.join(', ')}`;
  });
}

export function formatMigratePlan(plan: MigratePlan): string {
  const lines = [`migrate plan: ${plan.service} on ${plan.environment}${plan.image ? `, image ${plan.image}` : ''}`];
  if (plan.image_note) lines.push(plan.image_note);
  for (const database of plan.databases) {
    lines.push('', databaseHead(database));
    lines.push(...database.migrations.map(migrationLine));
    if (database.readable && database.migrations.length === 0 && database.applied_count === 0) lines.push('  (no migrations)');
    for (const note of database.notes) lines.push(`  note: ${note}`);
    if (database.blocked) lines.push(`  ✖ ${database.blocked}`);
  }
  if (plan.high_risk.length > 0) lines.push('', ...highRiskLines(plan.high_risk));
  lines.push('', 'a deploy would run:', '  migrate_pre (before the rollout):', ...runsLine(plan.deploy.migrate_pre));
  lines.push('  migrate_post (after the rollout succeeded):', ...runsLine(plan.deploy.migrate_post));
  for (const skipped of plan.deploy.not_run) lines.push(`  not run: ${skipped.database} (${skipped.reason})`);
  lines.push('', 'read-only: no lock was taken and nothing was changed.');
  return lines.join('\n');
}
