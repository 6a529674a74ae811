import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { HEAD, PROD, loadErrors, tempProject, yaml } from './helpers.js';

describe('orchestration.plan', () => {
  it('is read when the file exists (relative to stagecraft.yml)', async () => {
    const dir = await tempProject({
      'deploy/stagecraft.yml': yaml(...HEAD, 'orchestration:', '  plan: migrations/orchestration.plan', ...PROD),
      'deploy/migrations/orchestration.plan': 'main:0001_a\n',
    });
    const loaded = await loadConfig({ path: 'deploy/stagecraft.yml', cwd: dir, processEnv: {} });
    expect(loaded.config.orchestration).toEqual({ plan: 'migrations/orchestration.plan' });
  });

  it('is a config error at the key when the file does not exist', async () => {
    expect(await loadErrors(yaml(...HEAD, 'orchestration:', '  plan: migrations/orchestration.plan', ...PROD))).toEqual([
      'stagecraft.yml:4:9: orchestration.plan: "migrations/orchestration.plan" is not a file (the path is relative to stagecraft.yml)',
    ]);
  });

  it('is a config error when the path is a directory, and an unknown key is refused', async () => {
    const dir = await tempProject({ 'stagecraft.yml': yaml(...HEAD, 'orchestration: { plan: migrations, order: x }', ...PROD) });
    await mkdir(path.join(dir, 'migrations'));
    await writeFile(path.join(dir, 'migrations', '.keep'), '');
    const error = await loadConfig({ path: 'stagecraft.yml', cwd: dir, processEnv: {} }).catch((e: Error) => e);
    expect(String((error as Error).message)).toMatch(/stagecraft\.yml:3:\d+: .*order/);
  });
});
