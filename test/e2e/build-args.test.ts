import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, buildInvocation } from '../../src/build/build.js';
import { readTestbedState } from './helpers/testbed-state.js';

/**
 * A build arg's value reaches the image through the docker CLI's environment (`--build-arg NAME`
 * without a value), so it is never in argv, which `ps` shows to every local user. Real build on
 * the operator engine (classic builder), watching /proc for the running `docker build`.
 */
const value = `build-arg-value-${randomBytes(6).toString('hex')}`;
const image = `stagecraft-e2e-buildargs:${randomBytes(4).toString('hex')}`;
let dir: string;

beforeAll(async () => {
  const state = readTestbedState();
  dir = await mkdtemp(join(tmpdir(), 'sc-e2e-buildargs-'));
  await writeFile(
    join(dir, 'Dockerfile'),
    `FROM ${state.images.busybox}\nARG GREETING\nARG PLAIN\nRUN sleep 2 && echo "greeting=$GREETING plain=$PLAIN" > /built.txt\n`,
  );
});

afterAll(async () => {
  await execa('docker', ['rmi', '--force', image], { reject: false });
  await rm(dir, { recursive: true, force: true });
});

/** Command lines of running processes whose argv mentions `marker` (what `ps -ef` would show). */
async function commandLinesWith(marker: string): Promise<string[][]> {
  const found: string[][] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv = raw.split('\0').filter(Boolean);
    if (argv.some((word) => word.includes(marker))) found.push(argv);
  }
  return found;
}

describe('build args with the real docker CLI', () => {
  it('the value reaches the image, and the running docker build shows no value in its argv', async () => {
    const spec = { baseDir: dir, context: '.', dockerfile: 'Dockerfile', args: { GREETING: value, PLAIN: 'plain' }, imageRef: image, labels: {} };
    expect(buildInvocation(spec).argv.join(' ')).not.toContain(value);

    const seen: string[][] = [];
    let building = true;
    const watch = (async () => {
      while (building) {
        seen.push(...(await commandLinesWith(image)));
        await sleep(100);
      }
    })();
    try {
      await buildImage(spec, () => undefined);
    } finally {
      building = false;
      await watch;
    }

    const dockerBuild = seen.filter((argv) => argv.includes('build'));
    expect(dockerBuild.length).toBeGreaterThan(0); // we did watch the real process
    for (const argv of dockerBuild) {
      expect(argv).toContain('GREETING');
      expect(argv.join(' ')).not.toContain(value);
    }

    const run = await execa('docker', ['run', '--rm', image, 'cat', '/built.txt']);
    expect(run.stdout).toBe(`greeting=${value} plain=plain`);

    // Why a secret must never be a build arg: the classic builder records it in the image history.
    const history = await execa('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', image]);
    expect(history.stdout).toContain(`GREETING=${value}`);
  });
});
