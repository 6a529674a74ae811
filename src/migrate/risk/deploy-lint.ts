/**
 * The risk lint in `deploy --dry-run`: a dry run reads no database, so it lints every file of the
 * raw databases the deploy migrates and says which phase each would run in when pending; the deploy
 * itself refuses only pending ones (see guard.ts).
 */
import path from 'node:path';
import type { DeployPlan } from '../../plan/deploy-plan.js';
import { POST_DEPLOY_DIR, hasPostDeployMarker, migrationsDir } from '../raw/files.js';
import { lintFile, newLintMemory } from './lint.js';
import { databaseSources } from './sources.js';
import type { AcceptedFinding, Finding } from './types.js';

export interface DeployLintFile {
  database: string;
  file: string;
  /** The phase it runs in when pending. */
  phase: 'migrate_pre' | 'migrate_post';
  findings: Finding[];
  accepted: AcceptedFinding[];
}

export async function lintDeployFiles(configDir: string, plan: DeployPlan): Promise<DeployLintFile[]> {
  const out: DeployLintFile[] = [];
  const seen = new Set<string>();
  for (const phase of plan.phases) {
    if ((phase.name !== 'migrate_pre' && phase.name !== 'migrate_post') || phase.skip) continue;
    for (const migration of phase.migrations) {
      if (migration.engine !== 'raw' || seen.has(migration.database)) continue;
      seen.add(migration.database);
      const sources = await databaseSources(configDir, { engine: 'raw', path: migration.path }, plan.environment);
      if (!sources.linted) continue;
      const postDir = `${path.join(migrationsDir(configDir, migration.path ?? '.').display, POST_DEPLOY_DIR)}${path.sep}`;
      const memory = newLintMemory();
      for (const source of sources.files) {
        const result = await lintFile(source, memory);
        if (result.findings.length === 0 && result.accepted.length === 0) continue;
        const post = migration.strategy === 'post_deploy' || source.path.startsWith(postDir) || hasPostDeployMarker(source.sql);
        out.push({ database: migration.database, file: source.path, phase: post ? 'migrate_post' : 'migrate_pre', findings: result.findings, accepted: result.accepted });
      }
    }
  }
  return out;
}

/** Text after the plan: each file's findings, and what the deploy would refuse if it is pending. */
export function formatDeployLint(files: readonly DeployLintFile[]): string {
  if (files.length === 0) return '';
  const lines = ['', 'risk lint (every migration file; a dry run does not read which are pending):'];
  for (const file of files) {
    lines.push(`  ${file.database}: ${file.file} (${file.phase} when pending)`);
    for (const f of file.findings) {
      const refused = file.phase === 'migrate_pre' && f.class !== 'locking' ? '  ← refused before the rollout if pending' : '';
      lines.push(`    ✖ line ${f.line}: ${f.rule} (${f.class}): ${f.message}${refused}`);
    }
    for (const f of file.accepted) lines.push(`    ✓ line ${f.line}: ${f.rule} (${f.class}) accepted: ${f.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
