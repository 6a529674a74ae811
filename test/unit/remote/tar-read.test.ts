import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TarTooLargeError, readTarFiles } from '../../../src/remote/tar.js';
import { filesUnder, imagePath } from '../../../src/migrate/engines/image-files.js';

async function archive(entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink'; content?: string; linkname?: string }>): Promise<Readable> {
  const tar = pack();
  for (const entry of entries) {
    if (entry.type === 'directory') tar.entry({ name: entry.name, type: 'directory' });
    else if (entry.type === 'symlink') tar.entry({ name: entry.name, type: 'symlink', linkname: entry.linkname ?? 'x' });
    else tar.entry({ name: entry.name }, entry.content ?? '');
  }
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

describe('reading a Docker archive', () => {
  it('keeps regular files with their content, leaves out directories and links', async () => {
    const files = await readTarFiles(
      await archive([
        { name: 'migrations/', type: 'directory' },
        { name: 'migrations/0001_a.sql', content: 'CREATE TABLE a ();' },
        { name: 'migrations/link.sql', type: 'symlink', linkname: '0001_a.sql' },
        { name: 'migrations/post/0002_b.sql', content: 'DROP TABLE a;' },
      ]),
    );
    expect(files.map((file) => [file.path, file.content.toString()])).toEqual([
      ['migrations/0001_a.sql', 'CREATE TABLE a ();'],
      ['migrations/post/0002_b.sql', 'DROP TABLE a;'],
    ]);
  });

  it('skips files the caller does not want, unread', async () => {
    const files = await readTarFiles(await archive([{ name: 'm/a.sql', content: 'x' }, { name: 'm/big.bin', content: 'y'.repeat(10_000) }]), {
      include: (path) => path.endsWith('.sql'),
      maxBytes: 100,
    });
    expect(files.map((file) => file.path)).toEqual(['m/a.sql']);
  });

  it('refuses an archive larger than the limit', async () => {
    await expect(readTarFiles(await archive([{ name: 'm/a.sql', content: 'x'.repeat(5_000) }]), { maxBytes: 1_000 })).rejects.toBeInstanceOf(TarTooLargeError);
  });

  it('makes paths relative to the directory read, sorted', () => {
    const entries = [
      { path: 'migrations/0002_b.sql', content: Buffer.from('b') },
      { path: 'migrations/0001_a.sql', content: Buffer.from('a') },
      { path: 'other/x.sql', content: Buffer.from('x') },
    ];
    expect([...filesUnder('/app/migrations', entries).keys()]).toEqual(['0001_a.sql', '0002_b.sql']);
  });

  it.each([
    ['/app', 'migrations', '/app/migrations'],
    ['', 'migrations', '/migrations'],
    [undefined, './db/../migrations', '/migrations'],
    ['/app', '/opt/migrations', '/opt/migrations'],
  ])('resolves %s + %s like the tool in the image would', (workdir, dir, expected) => {
    expect(imagePath(workdir, dir)).toBe(expected);
  });
});
