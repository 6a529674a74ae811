import type { DeployPlan, PlannedPhase, PlannedRole } from './deploy-plan.js';
import type { BackupSpec } from '../migrate/backup.js';
import { describeApply } from '../migrate/engine-commands.js';

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** `backup before destructive migrations: IMAGE COMMAND…` (never the URL: it is in the container's environment). */
export function backupLine(backup: BackupSpec): string {
  const volumes = backup.volumes.length ? `, volumes ${backup.volumes.join(', ')}` : '';
  return `backup before ${backup.when === 'always' ? 'every run' : 'destructive migrations'}: ${backup.image} ${backup.command.join(' ')} (timeout ${seconds(backup.timeout_ms)}${volumes})`;
}

function phaseLines(phase: PlannedPhase, plan: DeployPlan): string[] {
  if (phase.skip) return [`  skipped: ${phase.skip}`];
  switch (phase.name) {
    case 'build': {
      const b = phase.build!;
      const args = Object.keys(b.args);
      return [
        `  docker build ${b.context} (dockerfile ${b.dockerfile}${b.target ? `, target ${b.target}` : ''}) → ${plan.image}`,
        ...(args.length ? [`  build args: ${args.join(', ')}`] : []),
      ];
    }
    case 'push':
      return [`  docker push ${plan.image}${phase.registry ? ` (login to ${phase.registry})` : ''}`];
    case 'migrate_pre':
    case 'migrate_post': {
      const lines = phase.migrations.flatMap((m) => [
        m.engine === 'raw'
          ? `  ${m.database} [raw] through ${m.host}: ${m.only === 'post' ? 'the migrations marked post-deploy' : describeApply({ engine: 'raw', path: m.path })}${m.only === 'pre' ? ' (except those marked post-deploy)' : ''}, timeout ${seconds(m.timeout_ms)}`
          : `  ${m.database} [${m.engine}] on ${m.host}: ${m.command.join(' ') || '(image default command)'} in ${m.container}, timeout ${seconds(m.timeout_ms)}`,
        ...(m.backup ? [`    ${backupLine(m.backup)}`] : []),
      ]);
      for (const skipped of phase.not_run) lines.push(`  ${skipped.database}: not run (${skipped.reason})`);
      return lines.length ? lines : ['  nothing to run'];
    }
    case 'rollout': {
      const r = phase.rollout;
      const lines = [
        `  strategy ${r.strategy}, up to ${r.max_parallel} hosts at once; health ${r.healthcheck.path} every ${seconds(r.healthcheck.interval_ms)} for up to ${seconds(r.healthcheck.timeout_ms)}`,
        `  proxy ${r.proxy.container} (${r.proxy.image}) on port ${r.proxy.port} → app port ${r.proxy.app_port}, network ${r.network}; drain ${seconds(r.drain_ms)}; keep ${r.retain} old containers`,
      ];
      r.batches.forEach((batch, index) => {
        lines.push(`  batch ${index + 1}: ${batch.map((h) => `${h.address} → ${h.roles.map(describeRole).join(' + ')}`).join(', ')}`);
      });
      return lines;
    }
    case 'finalize':
      return [`  record release; audit line on ${phase.audit_hosts.join(', ')}`];
  }
}

export function formatPlan(plan: DeployPlan): string {
  const head = [
    `${plan.kind} ${plan.service} ${plan.version} to ${plan.environment}${plan.rollback_of ? ` (rollback to ${plan.rollback_of})` : ''}`,
    `image ${plan.image}${plan.commit ? `, commit ${plan.commit.slice(0, 12)}` : ''}`,
    `hosts ${plan.hosts.join(', ')} (primary ${plan.primary})`,
    '',
  ];
  const body = plan.phases.flatMap((phase, index) => [`${index + 1}. ${phase.name}`, ...phaseLines(phase, plan)]);
  return [...head, ...body, '', 'dry run: nothing was built, pushed, changed or recorded.'].join('\n');
}

/** `shop-web-v2`, or `shop-worker-v2 (node worker.js; healthy when running after 5s)` for a role without the proxy. */
function describeRole(role: PlannedRole): string {
  if (role.proxy) return role.container;
  const health =
    role.health.kind === 'running'
      ? `healthy when running after ${seconds(role.health.min_running_ms)}`
      : role.health.kind === 'command'
        ? `healthy when ${role.health.cmd.join(' ')} exits 0`
        : 'health over HTTP';
  return `${role.container} (${role.cmd ? role.cmd.join(' ') : "image's command"}, no proxy; ${health})`;
}
