import type { CommonOptions } from '../context.js';
import { createReporter, durationOption, loadForCommand, storeFileFor } from '../context.js';
import { resolveVersion } from '../../build/version.js';
import { planDeploy } from '../../plan/plan-deploy.js';
import { formatPlan } from '../../plan/format-plan.js';
import { runPipeline } from '../../apply/pipeline.js';
import { confirmEnvironment } from '../confirm.js';
import { printOutcome } from '../outcome.js';
import { formatDeployLint, lintDeployFiles } from '../../migrate/risk/deploy-lint.js';

export interface DeployOptions extends CommonOptions {
  version?: string;
  skipBuild: boolean;
  dryRun: boolean;
  json: boolean;
  lockWait?: string;
  message?: string;
  yes: boolean;
}

export async function runDeploy(options: DeployOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const lockWaitMs = durationOption('--lock-wait', options.lockWait);
  const { version, commit } = await resolveVersion(loaded.dir, options.version);
  const plan = planDeploy(loaded.config, { environment: loaded.environment, version, commit, skipBuild: options.skipBuild });

  if (options.dryRun) {
    const risk = await lintDeployFiles(loaded.dir, plan);
    process.stdout.write(options.json ? `${JSON.stringify({ ...plan, risk_lint: risk }, null, 2)}\n` : `${formatPlan(plan)}\n${formatDeployLint(risk)}`);
    return;
  }
  await confirmEnvironment(loaded, `deploy ${plan.service} ${plan.version} to ${plan.environment}`, options.yes);
  const reporter = await createReporter(loaded, { verbose: options.verbose === true, json: options.json, hosts: plan.hosts });
  const result = await runPipeline({ loaded, plan, storeFile: storeFileFor(options), reporter, lockWaitMs, lockMessage: options.message }).finally(() => reporter.close());
  printOutcome(result, options.json);
}
