import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));

// Found by the config fuzzer (seed 82840399): the yaml package printed a Node warning for a
// mapping used as a key; stagecraft's own error must be the only thing the user sees.
it('a mapping used as a key is one located error, with no library warning on stderr', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sc-yaml-warnings-'));
  await writeFile(
    join(dir, 'stagecraft.yml'),
    ['service: web', 'image: acme/web', 'env:', '  ? complex: [API_TOKEN]', 'environments:', '  prod:', '    hosts: [{ address: local, roles: [primary, web] }]', ''].join('\n'),
  );
  const result = await execa('node', [bin, 'config', '--env', 'prod'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(/^stagecraft\.yml:\d+:\d+: unknown key "\{ complex: \[ API_TOKEN \] \}" in env/);
  expect(result.stderr).not.toContain('Warning');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
});
