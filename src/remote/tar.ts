/**
 * A one-file tar archive in memory, the format Docker's putArchive (`docker cp`) accepts.
 * Only what one regular file needs: POSIX ustar header, content, end-of-archive blocks.
 */
const BLOCK = 512;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new RangeError(`tar field too long: ${value}`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero-padded, then NUL
  writeString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

export interface TarFileOptions {
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

export function singleFileTar(fileName: string, content: Buffer, options: TarFileOptions): Buffer {
  if (fileName === '' || fileName.includes('/') || Buffer.byteLength(fileName) > 100) {
    throw new RangeError(`not a plain file name of at most 100 bytes: ${JSON.stringify(fileName)}`);
  }
  const header = Buffer.alloc(BLOCK);
  writeString(header, 0, 100, fileName);
  writeOctal(header, 100, 8, options.mode & 0o7777);
  writeOctal(header, 108, 8, options.uid ?? 0);
  writeOctal(header, 116, 8, options.gid ?? 0);
  writeOctal(header, 124, 12, content.length);
  writeOctal(header, 136, 12, Math.floor((options.mtime ?? new Date()).getTime() / 1000));
  header.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  header.write('0', 156, 'latin1'); // regular file
  writeString(header, 257, 6, 'ustar\0');
  writeString(header, 263, 2, '00');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  writeString(header, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);

  const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([header, content, Buffer.alloc(padding), Buffer.alloc(BLOCK * 2)]);
}
