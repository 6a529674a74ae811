import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { UserError } from '../errors.js';

/** stagecraft.yml and .stagecraft/secrets are a few kilobytes; anything past this is refused unread. */
export const MAX_INPUT_BYTES = 1024 * 1024;

export interface InputFile {
  readonly text: string;
  /** Permission bits and file type, from the opened file itself. */
  readonly mode: number;
}

/**
 * Reads a file the user points stagecraft at: it must be a regular file of at most MAX_INPUT_BYTES.
 * It is opened without blocking and checked through the open handle (no window between a check and
 * the read): a FIFO would otherwise hang, and a device or a growing file would never end.
 * Returns undefined when the file does not exist; `file` is the name shown in messages.
 */
export async function readInputFile(absolute: string, file: string): Promise<InputFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(absolute, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, expected a file`);
    throw new UserError(`${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UserError(`${file}: is ${kindOf(info)}, expected a regular file`);
    if (info.size > MAX_INPUT_BYTES) throw tooBig(file, info.size);
    // One byte more than the limit tells a file that grew since the stat from one that fits.
    const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_INPUT_BYTES) throw tooBig(file, length);
    }
    return { text: buffer.toString('utf8', 0, length), mode: info.mode };
  } finally {
    await handle.close();
  }
}

function tooBig(file: string, size: number): UserError {
  const shown = size > MAX_INPUT_BYTES + 1 ? ` (${(size / (1024 * 1024)).toFixed(1)} MiB)` : '';
  return new UserError(`${file}: too big${shown}: the limit is ${MAX_INPUT_BYTES / (1024 * 1024)} MiB`);
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
