import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { singleFileTar } from '../../../src/remote/tar.js';

describe('singleFileTar', () => {
  for (const size of [0, 1, 511, 512, 513, 70_000]) {
    it(`GNU tar extracts a ${size}-byte file with its content and mode`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sc-tar-'));
      const content = Buffer.alloc(size, 'x');
      if (size > 3) content.write('é\n\0', 0);
      writeFileSync(join(dir, 'a.tar'), await singleFileTar('nginx.conf', content, { mode: 0o640 }));
      const listing = execFileSync('tar', ['-tvf', join(dir, 'a.tar')]).toString();
      expect(listing).toMatch(/^-rw-r-----/);
      execFileSync('tar', ['-xpf', join(dir, 'a.tar'), '-C', dir]);
      expect(readFileSync(join(dir, 'nginx.conf')).equals(content)).toBe(true);
      expect(statSync(join(dir, 'nginx.conf')).mode & 0o777).toBe(0o640);
    });
  }

  it('refuses paths and over-long names', async () => {
    await expect(singleFileTar('a/b', Buffer.from(''), { mode: 0o644 })).rejects.toThrow(/plain file name/);
    await expect(singleFileTar('x'.repeat(101), Buffer.from(''), { mode: 0o644 })).rejects.toThrow(/plain file name/);
    await expect(singleFileTar('', Buffer.from(''), { mode: 0o644 })).rejects.toThrow(/plain file name/);
  });
});
