/**
 * `stagecraft app exec` and `app logs` on the testbed (issue 14): a service deployed to two hosts,
 * then one-off containers of its release image (exit codes, environment, network, removal, audit),
 * docker exec in the serving container (--reuse), stdin with -i, and the containers' logs merged
 * and prefixed by host. Bad paths: unknown host or role, nothing deployed, -i on two hosts.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, TestProject, inspectOnHost, onHost, onHostChecked, serviceContainers, uniqueService, waitFor, type CliResult } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PRIMARY = '10.201.0.11';
const SECOND = '10.201.0.12';
const HOSTS = [PRIMARY, SECOND];

/** The CLI with stdin fed from `input` (TestProject.run closes stdin). */
async function runWithInput(project: TestProject, args: readonly string[], input: string): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1' };
  for (const name of ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'DATABASE_URL', 'FORCE_COLOR']) env[name] = undefined;
  const result = await execa('node', [CLI, ...args], { cwd: project.dir, reject: false, extendEnv: false, env, input });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function execContainers(state: TestbedState, service: string): Promise<string[]> {
  const all = await Promise.all(HOSTS.map((address) => serviceContainers(state, address, service)));
  return all.flat().filter((name) => name.includes('-exec-'));
}

async function auditLines(state: TestbedState, address: string, service: string): Promise<string[]> {
  const result = await onHost(state, address, ['cat', '.stagecraft/audit.log']);
  return result.stdout.split('\n').filter((line) => line.includes(`\t${service}\t`) && line.includes('\tapp exec\t'));
}

/** Lines written to the serving container's own stdout/stderr (what `docker logs` shows). */
async function writeContainerLines(state: TestbedState, address: string, container: string, script: string): Promise<void> {
  await onHostChecked(state, address, ['docker', 'exec', container, 'sh', '-c', `'${script}'`]);
}

describe('app exec and app logs', () => {
  let state: TestbedState;
  let project: TestProject;
  let undeployed: TestProject;
  const service = uniqueService('e2ex');
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const web = `${service}-web-v1`;

  beforeAll(async () => {
    state = readTestbedState();
    project = await TestProject.create({ service, proxyPort: 8190, environments: { prod: HOSTS }, secretEnv: { API_TOKEN: token } }, state);
    undeployed = await TestProject.create({ service: uniqueService('e2ex'), proxyPort: 8192, environments: { prod: HOSTS } }, state);
    const deploy = await project.run(['deploy', '--env', 'prod', '--version', 'v1']);
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await project?.cleanup();
    await undeployed?.cleanup();
  });

  it('app exec -- sh -c \'exit 7\' exits 7, on the primary only, leaving no container and an audit line', async () => {
    const before = await auditLines(state, SECOND, service);
    const result = await project.run(['app', 'exec', '--env', 'prod', '--', 'sh', '-c', 'exit 7']);
    expect(result.exitCode, result.stderr).toBe(7);
    expect(await execContainers(state, service)).toEqual([]);
    const audit = await auditLines(state, PRIMARY, service);
    expect(audit.at(-1)).toContain('\tv1\tapp exec\tone-off exit 7 (10.201.0.11=7): sh -c "exit 7"');
    expect(await auditLines(state, SECOND, service)).toEqual(before);
  });

  it('the one-off has the app\'s environment (secrets scrubbed from output), the release image and the service network', async () => {
    const result = await project.run([
      'app', 'exec', '--env', 'prod', '--',
      'node', '-e',
      `fetch('http://${web}:3000/up').then((r) => console.log(process.env.STAGECRAFT_VERSION, process.env.PORT, process.env.API_TOKEN, 'up', r.status))`,
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    // One host: raw output, no prefix.
    expect(result.stdout).toBe('v1 3000 [REDACTED] up 200'); // execa drops the last newline
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('a command that cannot start exits as Docker reports it (127), saying why', async () => {
    const result = await project.run(['app', 'exec', '--env', 'prod', '--', 'no-such-command-e2ex']);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain(`error: ${PRIMARY}: could not start no-such-command-e2ex:`);
    expect(result.stderr).toMatch(/not found|no such file/i);
    expect(await execContainers(state, service)).toEqual([]);
  });

  it('--all runs on both hosts with output prefixed by host and each host\'s exit code', async () => {
    const result = await project.run(['app', 'exec', '--env', 'prod', '--all', '--', 'sh', '-c', 'echo one; echo two >&2; exit 3']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual([`[${PRIMARY}] one`, `[${SECOND}] one`]);
    const stderr = result.stderr.split('\n');
    expect(stderr).toContain(`[${PRIMARY}] two`);
    expect(stderr).toContain(`[${SECOND}] two`);
    expect(stderr.slice(-2)).toEqual([`[${PRIMARY}] exit 3`, `[${SECOND}] exit 3`]);
    for (const address of HOSTS) expect((await auditLines(state, address, service)).at(-1)).toContain(`one-off exit 3 (${PRIMARY}=3 ${SECOND}=3)`);
  });

  it('app exec --reuse runs inside the serving container', async () => {
    const serving = await inspectOnHost(state, SECOND, web);
    expect(serving?.State.Running).toBe(true);
    const hostname = (await onHostChecked(state, SECOND, ['docker', 'inspect', '--format', '{{.Config.Hostname}}', web])).trim();
    const result = await project.run(['app', 'exec', '--env', 'prod', '--reuse', '--host', SECOND, '--', 'sh', '-c', 'hostname; echo $STAGECRAFT_HOST; exit 4']);
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stdout).toBe(`${hostname}\n${SECOND}`);
    expect(await execContainers(state, service)).toEqual([]);
    expect((await auditLines(state, SECOND, service)).at(-1)).toContain(`\tv1\tapp exec\treuse exit 4 (${SECOND}=4)`);
  });

  it('-i attaches stdin, to a one-off and with --reuse', async () => {
    const oneOff = await runWithInput(project, ['app', 'exec', '--env', 'prod', '-i', '--', 'sh', '-c', 'tr a-z A-Z'], 'hello stdin\n');
    expect(oneOff.exitCode, oneOff.stderr).toBe(0);
    expect(oneOff.stdout).toBe('HELLO STDIN');
    const reused = await runWithInput(project, ['app', 'exec', '--env', 'prod', '--reuse', '-i', '--', 'wc', '-l'], 'a\nb\nc\n');
    expect(reused.exitCode, reused.stderr).toBe(0);
    expect(reused.stdout.trim()).toBe('3');
  });

  it('-i on a terminal gives the command a TTY (one-off and --reuse), its exit code still stagecraft\'s', async () => {
    const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1', STAGECRAFT_ENV: undefined };
    // util-linux script(1) runs the CLI on a new pseudo-terminal; -e returns the CLI's exit code.
    for (const reuse of [[], ['--reuse']]) {
      const line = `node ${CLI} app exec --env prod -i ${reuse.join(' ')} -- sh -c 'tty; echo $((6*7)); exit 5'`;
      const result = await execa('script', ['-qec', line, '/dev/null'], { cwd: project.dir, reject: false, extendEnv: false, env, input: '' });
      expect(result.exitCode, String(result.stdout)).toBe(5);
      // The container's TTY ends lines with \r\n, and Node's raw mode keeps the local terminal's own \n → \r\n.
      expect(String(result.stdout)).toMatch(/\/dev\/pts\/\d+\r*\n42\r*(\n|$)/);
    }
  });

  it('SIGINT stops and removes the one-off container and exits 130', async () => {
    const child = project.start(['app', 'exec', '--env', 'prod', '--', 'sleep', '300']);
    await waitFor('the exec container to run', async () => ((await execContainers(state, service)).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toContain('SIGINT received: stopping the command');
    expect(await execContainers(state, service)).toEqual([]);
    expect((await auditLines(state, PRIMARY, service)).at(-1)).toContain('one-off exit');
  });

  it('app logs --lines 5 shows each host\'s last 5 lines, prefixed and merged; --grep and --host narrow it', async () => {
    for (const address of HOSTS) {
      await writeContainerLines(state, address, web, `for i in 1 2 3 4 5 6 7 8; do echo "log $i of ${address}" > /proc/1/fd/1; done`);
      // A docker exec of its own: within one script, Docker may log a stderr line before earlier stdout ones.
      await writeContainerLines(state, address, web, `echo "warn of ${address}" > /proc/1/fd/2`);
    }
    const result = await project.run(['app', 'logs', '--env', 'prod', '--lines', '5']);
    expect(result.exitCode, result.stderr).toBe(0);
    for (const address of HOSTS) {
      const lines = result.stdout.split('\n').filter((line) => line.startsWith(`[${address}] `));
      // The container's last 5: log 5..8, and the stderr line, which goes to stderr.
      expect(lines).toEqual([5, 6, 7, 8].map((i) => `[${address}] log ${i} of ${address}`));
      expect(result.stderr.split('\n')).toContain(`[${address}] warn of ${address}`);
    }

    const grep = await project.run(['app', 'logs', '--env', 'prod', '--grep', 'log 7 ']);
    expect(grep.exitCode, grep.stderr).toBe(0);
    expect(grep.stdout.split('\n').filter(Boolean).sort()).toEqual(HOSTS.map((address) => `[${address}] log 7 of ${address}`));

    const one = await project.run(['app', 'logs', '--env', 'prod', '--host', SECOND, '--since', '1h']);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toContain(`[${SECOND}] log 1 of ${SECOND}`);
    expect(one.stdout).not.toContain(PRIMARY);
  });

  it('app logs --follow prints new lines as they come until Ctrl-C (exit 0)', async () => {
    const child = project.start(['app', 'logs', '--env', 'prod', '--follow', '--lines', '0']);
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    const marker = `follow-${randomBytes(4).toString('hex')}`;
    await waitFor('a followed line', async () => {
      await writeContainerLines(state, SECOND, web, `echo ${marker} > /proc/1/fd/1`);
      return seen.includes(`[${SECOND}] ${marker}`) ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
  });

  it('user errors: unknown host or role, -i on two hosts, nothing deployed (exec, --reuse, logs); no audit line', async () => {
    const unknownHost = await project.run(['app', 'exec', '--env', 'prod', '--host', '10.201.0.99', '--', 'true']);
    expect(unknownHost.exitCode).toBe(1);
    expect(unknownHost.stderr).toContain(`"10.201.0.99" is not a host of prod; its hosts: ${PRIMARY}, ${SECOND}`);
    const unknownRole = await project.run(['app', 'logs', '--env', 'prod', '--role', 'worker']);
    expect(unknownRole.exitCode).toBe(1);
    expect(unknownRole.stderr).toContain('no host of prod has role "worker"; roles: web');
    const twoHosts = await project.run(['app', 'exec', '--env', 'prod', '--all', '-i', '--', 'cat']);
    expect(twoHosts.exitCode).toBe(1);
    expect(twoHosts.stderr).toContain('-i attaches your terminal to one host, and 2 are selected');

    const auditBefore = await auditLines(state, PRIMARY, undeployed.spec.service);
    const noRelease = await undeployed.run(['app', 'exec', '--env', 'prod', '--', 'true']);
    expect(noRelease.exitCode).toBe(1);
    expect(noRelease.stderr).toContain(`${undeployed.spec.service} has no completed release on prod yet`);
    expect(noRelease.stderr).toContain('hint: deploy first: stagecraft deploy --env prod');
    const noContainer = await undeployed.run(['app', 'exec', '--env', 'prod', '--reuse', '--', 'true']);
    expect(noContainer.exitCode).toBe(1);
    expect(noContainer.stderr).toContain(`no running web container of ${undeployed.spec.service} (prod) on ${PRIMARY}`);
    const noLogs = await undeployed.run(['app', 'logs', '--env', 'prod']);
    expect(noLogs.exitCode).toBe(1);
    expect(noLogs.stderr).toContain(`no running web container of ${undeployed.spec.service} (prod) on ${PRIMARY}, ${SECOND}`);
    for (const result of [unknownHost, unknownRole, twoHosts, noRelease, noContainer, noLogs]) expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await auditLines(state, PRIMARY, undeployed.spec.service)).toEqual(auditBefore);
  });
});
