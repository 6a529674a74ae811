/** Tar archives in memory: one file in, the format Docker's putArchive (`docker cp`) accepts; files out of getArchive. */
import { extract, pack } from 'tar-stream';

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

export interface TarFile {
  /** Path inside the archive, posix, without a leading `./`. */
  path: string;
  content: Buffer;
}

export interface ReadTarOptions {
  /** Read the content of these files only; the others are skipped unread. */
  include?: (path: string) => boolean;
  /** Refuse an archive whose included files add up to more (default 64 MiB). */
  maxBytes?: number;
}

export class TarTooLargeError extends Error {}

/** The regular files of a tar stream (directories, links and devices are left out). */
export async function readTarFiles(stream: NodeJS.ReadableStream, options: ReadTarOptions = {}): Promise<TarFile[]> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const files: TarFile[] = [];
  let total = 0;
  const archive = extract();
  const done = new Promise<void>((resolve, reject) => {
    archive.on('entry', (header, entry, next) => {
      const path = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      const wanted = header.type === 'file' && path !== '' && (options.include?.(path) ?? true);
      if (!wanted) {
        entry.on('end', next);
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        total += chunk.length;
        if (total > maxBytes) {
          archive.destroy(new TarTooLargeError(`more than ${maxBytes} bytes of files`));
          return;
        }
        chunks.push(chunk);
      });
      entry.on('end', () => {
        files.push({ path, content: Buffer.concat(chunks) });
        next();
      });
    });
    archive.on('finish', resolve);
    archive.on('error', reject);
  });
  (stream as NodeJS.ReadableStream & { pipe: (destination: NodeJS.WritableStream) => unknown }).pipe(archive);
  stream.on('error', (error: Error) => archive.destroy(error));
  await done;
  return files;
}
