import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf, isNoTransaction, readMigrationFiles } from '../../../src/migrate/raw/files.js';
import { UserError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-raw-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(entries)) await writeFile(join(dir, name), content);
}

describe('raw migration files', () => {
  it('orders by number (not by text), pairs down files, checksums the bytes, ignores other files', async () => {
    await files({
      '10_ten.sql': 'SELECT 10;',
      '9_nine.sql': 'SELECT 9;',
      '0001_first.sql': 'SELECT 1;',
      '0001_first.down.sql': 'SELECT -1;',
      'README.md': 'not a migration',
    });
    const found = await readMigrationFiles(dir, 'db');
    expect(found.map((f) => f.id)).toEqual(['0001_first', '9_nine', '10_ten']);
    expect(found[0]!.down?.file).toBe('0001_first.down.sql');
    expect(found[1]!.down).toBeUndefined();
    expect(found[0]!.checksum).toBe(checksumOf(Buffer.from('SELECT 1;')));
    expect(found[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a changed byte changes the checksum', () => {
    expect(checksumOf('SELECT 1;')).not.toBe(checksumOf('SELECT 1; '));
  });

  it('refuses a badly named .sql file, a duplicate number and an orphan down file, listing each', async () => {
    await files({ 'create.sql': '', '0002_a.sql': '', '0002_b.sql': '', '0003_x.down.sql': '' });
    const error = await readMigrationFiles(dir, 'db/app').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const message = (error as Error).message;
    expect(message).toContain('create.sql: expected NNNN_name.sql');
    expect(message).toContain('0002_b.sql: number 0002 is also used by 0002_a.sql');
    expect(message).toContain('0003_x.down.sql: no 0003_x.sql');
  });

  it('names a missing directory', async () => {
    await expect(readMigrationFiles(join(dir, 'nope'), 'db/nope')).rejects.toThrow('migrations directory db/nope does not exist');
  });

  it('recognises the no-transaction marker only on the first line', () => {
    expect(isNoTransaction('-- stagecraft:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);')).toBe(true);
    expect(isNoTransaction('  -- stagecraft:no-transaction  \r\nSELECT 1;')).toBe(true);
    expect(isNoTransaction('SELECT 1;\n-- stagecraft:no-transaction')).toBe(false);
    expect(isNoTransaction('-- stagecraft:no-transactions\nSELECT 1;')).toBe(false);
  });
});
