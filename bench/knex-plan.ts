/**
 * `stagecraft migrate plan` for the knex example (examples/hello, 3 migrations, all applied), side
 * by side in one run:
 *   - before: the tool in a one-off container of the app image (`plan_command: knex migrate:list`,
 *     how every tool engine planned until plans read without a container);
 *   - after: no container started: the migrations directory read from a created, never started
 *     container's archive, knex_migrations read through the SSH tunnel.
 * Both are the real CLI against the testbed's primary host, registry and PostgreSQL. Median of
 * RUNS (default 7) each, after one warm-up each, interleaved so machine noise hits both alike.
 * Run: npm run bench:knex-plan (needs the testbed: npm run testbed -- up).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { asAdmin, median, runningTestbed } from './support.js';

const runs = Number(process.env.RUNS ?? 7);
const bin = fileURLToPath(new URL('../bin/stagecraft.js', import.meta.url));
const helloDir = fileURLToPath(new URL('../examples/hello', import.meta.url));

const { state, primary } = runningTestbed();

const database = `bench_knexplan_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'sc-bench-knexplan-'));
const image = `${state.registry.server}/bench/knex-plan:${process.pid}`;

function must(command: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

function writeConfig(name: string, planCommand?: string[]): string {
  const path = join(dir, `${name}.yml`);
  writeFileSync(
    path,
    stringify({
      service: 'bench-knex-plan',
      image: `${state!.registry.server}/bench/knex-plan`,
      registry: { server: state!.registry.server, username: state!.registry.username, password: '${REGISTRY_PASSWORD}' },
      ssh: { user: state!.ssh.user, keys: [state!.ssh.key], known_hosts: state!.ssh.known_hosts },
      databases: {
        main: { url: '${BENCH_DATABASE_URL}', migrations: { engine: 'knex', path: 'migrations', strategy: 'manual', ...(planCommand ? { plan_command: planCommand } : {}) } },
      },
      environments: { bench: { hosts: [{ address: primary!.address, roles: ['primary', 'web'] }] } },
    }),
  );
  return path;
}

function plan(config: string): { ms: number; pending: number } {
  const start = performance.now();
  const stdout = must(process.execPath, [bin, '-c', config, 'migrate', 'plan', '--env', 'bench', '--image', image, '--json'], { cwd: dir });
  const ms = performance.now() - start;
  const report = JSON.parse(stdout) as { databases: Array<{ pending_count: number; readable: boolean }> };
  const main = report.databases[0];
  if (!main?.readable) throw new Error(`plan could not read the database: ${stdout}`);
  return { ms, pending: main.pending_count };
}

if (!existsSync(join(helloDir, 'node_modules', 'knex'))) must('npm', ['--prefix', helloDir, 'ci', '--omit=dev', '--no-audit', '--no-fund']);
must('docker', ['build', '-q', '-t', image, helloDir]);
const dockerConfig = mkdtempSync(join(tmpdir(), 'sc-bench-docker-'));
try {
  must('docker', ['--config', dockerConfig, 'login', '--username', state.registry.username, '--password-stdin', state.registry.server], { input: state.registry.password });
  must('docker', ['--config', dockerConfig, 'push', '-q', image]);
} finally {
  rmSync(dockerConfig, { recursive: true, force: true });
}

await asAdmin(state, `CREATE DATABASE ${database} OWNER ${state.postgres.user}`);
try {
  const url = new URL(state.postgres.url);
  url.pathname = `/${database}`;
  mkdirSync(join(dir, '.stagecraft'));
  writeFileSync(join(dir, '.stagecraft', 'secrets'), `BENCH_DATABASE_URL=${url.toString()}\nREGISTRY_PASSWORD=${state.registry.password}\n`, { mode: 0o600 });
  const withContainer = writeConfig('with-container', ['node_modules/.bin/knex', 'migrate:list']);
  const withoutContainer = writeConfig('without-container');
  // Before anything is timed, both ways must agree: 3 pending on the fresh database (the container
  // way creates knex's tables here, which is why plans stopped using it), 0 after a run.
  const fresh = [plan(withoutContainer).pending, plan(withContainer).pending];
  if (fresh[0] !== 3 || fresh[1] !== 3) throw new Error(`the two plans disagree or are wrong on a fresh database: pending ${fresh.join(' vs ')}`);
  must(process.execPath, [bin, '-c', withoutContainer, 'migrate', 'run', '--env', 'bench', '--image', image, '--yes'], { cwd: dir });
  const applied = [plan(withoutContainer).pending, plan(withContainer).pending];
  if (applied[0] !== 0 || applied[1] !== 0) throw new Error(`the two plans disagree or are wrong after a run: pending ${applied.join(' vs ')}`);

  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < runs; i++) {
    before.push(plan(withContainer).ms);
    after.push(plan(withoutContainer).ms);
  }
  const row = (label: string, samples: number[]) =>
    `${label.padEnd(52)} median ${median(samples).toFixed(0).padStart(5)} ms (min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)})`;
  console.log(`migrate plan, knex example (3 migrations, all applied), primary ${primary.address}, ${runs} runs each:`);
  console.log(row('before: knex migrate:list in a one-off container', before));
  console.log(row('after: image archive + knex_migrations, no container', after));
  console.log(`after / before: ${(median(after) / median(before)).toFixed(2)}x`);
} finally {
  await asAdmin(state, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
}
