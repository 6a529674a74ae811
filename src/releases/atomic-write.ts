/**
 * Replace a file so that readers see either the old bytes or the new bytes, never a mix,
 * even if the process dies or the machine loses power half way: write a temp file in the
 * same folder, fsync it, rename it over the target, fsync the folder.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /**
   * Runs after the temp file is durable and before the rename. The store uses it to check
   * it still holds its lock; tests use it to inject a failure or a crash at that point.
   * If it throws, the target is untouched and the temp file is removed.
   */
  beforeRename?: () => void | Promise<void>;
  mode?: number;
}

export async function writeFileAtomic(target: string, data: string, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(target);
  let renamed = false;
  try {
    await writeNewFileDurably(temp, data, options.mode);
    await options.beforeRename?.();
    await rename(temp, target);
    renamed = true;
    await syncDirectory(path.dirname(target));
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** Creates `file` (EEXIST if it exists) holding `data`, and fsyncs it before returning. */
export async function writeNewFileDurably(file: string, data: string, mode = 0o644): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Deletes temp files that a crashed writer left next to `target`. Only call this while
 * holding the lock that serialises writers of `target`: then no live writer owns one.
 */
export async function removeLeftoverTempFiles(target: string): Promise<string[]> {
  const dir = path.dirname(target);
  const prefix = tempPrefixFor(target);
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) {
      await unlink(path.join(dir, name)).then(
        () => removed.push(name),
        () => undefined,
      );
    }
  }
  return removed;
}

function tempPrefixFor(target: string): string {
  return `.${path.basename(target)}.`;
}

function tempPathFor(target: string): string {
  const unique = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return path.join(path.dirname(target), `${tempPrefixFor(target)}${unique}.tmp`);
}

/** Makes the rename itself durable. Some platforms cannot fsync a directory; that is not an error there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
