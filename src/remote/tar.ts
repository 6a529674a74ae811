/** A one-file tar archive in memory, the format Docker's putArchive (`docker cp`) accepts. */
import { pack } from 'tar-stream';

export interface TarFileOptions {
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

export async function singleFileTar(fileName: string, content: Buffer, options: TarFileOptions): Promise<Buffer> {
  if (fileName === '' || fileName.includes('/') || Buffer.byteLength(fileName) > 100) {
    throw new RangeError(`not a plain file name of at most 100 bytes: ${JSON.stringify(fileName)}`);
  }
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  archive.entry(
    { name: fileName, mode: options.mode & 0o7777, uid: options.uid ?? 0, gid: options.gid ?? 0, mtime: options.mtime ?? new Date(), type: 'file' },
    content,
  );
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}
