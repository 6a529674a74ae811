import type { PipelineResult } from '../apply/pipeline.js';

/** Final summary of deploy/rollback; a failure is rethrown so main prints it and exits with its code. */
export function printOutcome(result: PipelineResult, json: boolean): void {
  const { release } = result;
  if (json) {
    process.stdout.write(`${JSON.stringify(release, null, 2)}\n`);
  } else if (!result.error) {
    process.stdout.write(`${release.kind} ${release.id}: ${release.service} ${release.version} is live on ${release.environment} (${release.hosts.length} host(s))\n`);
  } else {
    process.stdout.write(`${release.kind} ${release.id}: ${release.status}; see \`stagecraft releases show ${release.id}\`\n`);
  }
  if (result.error) throw result.error;
}
