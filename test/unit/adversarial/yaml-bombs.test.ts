import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Hostile stagecraft.yml files, each run through the real built CLI in a child process whose heap is
 * capped at 256 MB: each must be refused with exit 1 and a clear message, never a crash, a hang or a
 * stack trace. Timings are printed, not asserted (the machine is shared); before the limits these
 * took 10 s to minutes, gigabytes of memory, or hung forever.
 */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
const HEAD = 'service: web\nimage: registry.example.com/acme/web\n';
const PROD = 'environments:\n  prod:\n    hosts: [{ address: 10.0.0.1, roles: [primary] }]\n';

let dir: string;
/** How long the CLI takes for a small valid config: node startup and imports, subtracted in the printed timings. */
let baselineMs = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-bombs-'));
  const run = await bomb('baseline', `${HEAD}${PROD}`);
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  baselineMs = run.ms;
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  ms: number;
}

async function runConfig(name: string, configPath: string): Promise<Run> {
  const started = performance.now();
  const result = await execa('node', ['--max-old-space-size=256', bin, 'config', '-c', configPath, '--env', 'prod', '--json'], {
    cwd: dir,
    reject: false,
    timeout: 60_000,
    // Nothing from the caller's environment (a STAGECRAFT_ENV would pick another environment).
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '' },
  });
  const ms = Math.round(performance.now() - started);
  const own = baselineMs === 0 ? '' : `, about ${Math.max(0, ms - baselineMs)} ms more than a small valid config`;
  process.stdout.write(`[yaml bomb] ${name}: exit ${String(result.exitCode)} in ${ms} ms${own}\n`);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, ms };
}

async function bomb(name: string, text: string): Promise<Run> {
  const file = `${name}.yml`;
  await writeFile(path.join(dir, file), text);
  return runConfig(name, file);
}

function expectRefused(run: Run, message: RegExp): void {
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at |internal error|heap out of memory/);
  expect(run.stdout).toBe('');
  expect(run.exitCode).toBe(1);
}

describe('YAML bombs are refused quickly, with exit 1 and a clear message', { timeout: 90_000 }, () => {
  it('10,000 aliases of one anchor (70 KB) are refused at the first alias over the limit', async () => {
    const text = `${HEAD}x-a: &a value\nx-uses:\n${'  - *a\n'.repeat(10_000)}${PROD}`;
    const run = await bomb('many-aliases', text);
    expectRefused(run, /^many-aliases\.yml:105:5: more than 100 aliases \(\*name\): a config may use at most 100$/);
  });

  it('a wide anchor reused in a section that is expanded is refused at the alias that crosses the budget', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `K${i}: v`).join(', ');
    const uses = Array.from({ length: 99 }, (_, i) => `  d${i}: *w\n`).join('');
    const run = await bomb('wide-anchor', `${HEAD}x-wide: &w { ${keys} }\ndatabases:\n${uses}${PROD}`);
    expectRefused(run, /^wide-anchor\.yml:7:7: aliases expand the document to more than 20000 values: too big for a config file$/);
  });

  it('nested aliases (a billion laughs) are refused before anything is expanded', async () => {
    const levels = ['x-0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]'];
    for (let i = 1; i < 10; i++) levels.push(`x-${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const run = await bomb('laughs', `${HEAD}${levels.join('\n')}\n${PROD}`);
    expectRefused(run, /^laughs\.yml:\d+:\d+: aliases expand the document to more than 20000 values/);
  });

  it('10,000 levels of flow nesting are refused by the lexer', async () => {
    const run = await bomb('deep-flow', `${HEAD}x-deep: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n${PROD}`);
    expectRefused(run, /^deep-flow\.yml:3:73: nested too deeply: a config may nest mappings and lists at most 64 levels$/);
  });

  it('200 levels of block nesting are refused, even under an ignored x- key', async () => {
    const nested = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n');
    const run = await bomb('deep-block', `${HEAD}x-deep:\n${nested} end\n${PROD}`);
    expectRefused(run, /^deep-block\.yml:67:65: nested too deeply: a config may nest mappings and lists at most 64 levels$/);
  });

  it('a 25 MB file is refused by its size, unread, naming the file and the limit', async () => {
    const line = '  key: a value that is long enough to make the file big quickly, padding padding\n';
    const run = await bomb('huge', `${HEAD}x-big:\n${line.repeat(Math.ceil(25e6 / line.length))}${PROD}`);
    expectRefused(run, /^error: huge\.yml: too big \(2\d\.\d MiB\): the limit is 1 MiB$/);
  });

  it('a file under the size cap made of tiny values is refused by the lexer before it is parsed', async () => {
    const run = await bomb('tiny-values', `${HEAD}x-many: [${Array(300_000).fill('a').join(',')}]\n${PROD}`);
    expectRefused(run, /^tiny-values\.yml:3:20000: more than 10000 keys and values: too big for a config file$/);
  });

  it('a FIFO given as -c is refused at once instead of hanging', async () => {
    const fifo = path.join(dir, 'pipe.yml');
    await execa('mkfifo', [fifo]);
    const run = await runConfig('fifo', 'pipe.yml');
    expectRefused(run, /^error: pipe\.yml: is a FIFO \(named pipe\), expected a regular file$/);
  });

  it('a directory or a device given as -c is refused', async () => {
    expectRefused(await runConfig('directory', '.'), /^error: .*stagecraft-bombs-\w+: is a directory, expected a regular file$/);
    expectRefused(await runConfig('device', '/dev/zero'), /^error: \/dev\/zero: is a device, expected a regular file$/);
  });
});
