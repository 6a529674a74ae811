/**
 * Wall time of `stagecraft migrate plan` (the real CLI: config, 1,000 files read and checksummed,
 * the tracking table read through the SSH tunnel via the testbed's primary host) over a database
 * with 1,000 raw migrations: 600 applied, 400 pending. Median of RUNS (default 7) after one warm-up.
 * Run: npm run bench:migrate-plan (needs the testbed: npm run testbed -- up). Target: <= 1.5 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { asAdmin, median, runningTestbed } from './support.js';

const TOTAL = 1_000;
const APPLIED = 600;
const runs = Number(process.env.RUNS ?? 7);
const bin = fileURLToPath(new URL('../bin/stagecraft.js', import.meta.url));

const { state, primary } = runningTestbed();

const database = `bench_plan_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'sc-bench-plan-'));

function stagecraft(args: string[]): { ms: number; stdout: string } {
  const start = performance.now();
  const result = spawnSync(process.execPath, [bin, '-c', join(dir, 'stagecraft.yml'), ...args, '--env', 'bench'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`stagecraft ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

await asAdmin(state, `CREATE DATABASE ${database} OWNER ${state.postgres.user}`);
try {
  const url = new URL(state.postgres.url);
  url.pathname = `/${database}`;
  mkdirSync(join(dir, 'db'));
  for (let i = 1; i <= TOTAL; i++) {
    const id = String(i).padStart(4, '0');
    writeFileSync(join(dir, 'db', `${id}_step.sql`), `CREATE TABLE step_${id} (id bigserial PRIMARY KEY, note text);\n`);
  }
  mkdirSync(join(dir, '.stagecraft'));
  writeFileSync(join(dir, '.stagecraft', 'secrets'), `BENCH_DATABASE_URL=${url.toString()}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'stagecraft.yml'),
    stringify({
      service: 'bench-plan',
      image: `${state.registry.server}/bench/plan`,
      ssh: { user: state.ssh.user, keys: [state.ssh.key], known_hosts: state.ssh.known_hosts },
      databases: { main: { url: '${BENCH_DATABASE_URL}', migrations: { engine: 'raw', path: 'db', strategy: 'pre_deploy' } } },
      environments: { bench: { hosts: [{ address: primary.address, roles: ['primary', 'web'] }] } },
    }),
  );

  const setup = performance.now();
  stagecraft(['migrate', 'run', '--to', `${String(APPLIED).padStart(4, '0')}_step`]);
  console.log(`setup: applied ${APPLIED} of ${TOTAL} migrations in ${((performance.now() - setup) / 1000).toFixed(1)} s`);

  const check = JSON.parse(stagecraft(['migrate', 'plan', '--json']).stdout) as { databases: { applied_count: number; pending_count: number }[] };
  const counts = check.databases[0]!;
  if (counts.applied_count !== APPLIED || counts.pending_count !== TOTAL - APPLIED) throw new Error(`unexpected plan: ${JSON.stringify(counts)}`);

  const samples = Array.from({ length: runs }, () => stagecraft(['migrate', 'plan']).ms);
  console.log(
    `migrate plan, ${TOTAL} raw migrations (${APPLIED} applied, ${TOTAL - APPLIED} pending) through ${primary.address}: median ${median(samples).toFixed(0)} ms (min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)}, ${runs} runs)`,
  );
  const json = Array.from({ length: runs }, () => stagecraft(['migrate', 'plan', '--json']).ms);
  console.log(`migrate plan --json: median ${median(json).toFixed(0)} ms`);
  console.log('target: <= 1500 ms');
} finally {
  await asAdmin(state, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
}
