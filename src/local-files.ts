/**
 * Files stagecraft writes in a project (stagecraft.yml, .stagecraft/secrets, .gitignore,
 * .stagecraft/releases.json and its lock) are never written through a symbolic link: a cloned
 * repository can plant `.stagecraft/secrets -> ~/.bashrc` or a dangling `stagecraft.yml ->
 * /etc/cron.d/x`, and following it would write outside the project. Each such path is checked
 * with lstat first and refused (exit 1) if it is a link; files are then created with O_EXCL
 * (which never follows a link) and replaced by renaming a temp file over them.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { UserError } from './errors.js';

export type PathKind = 'missing' | 'file' | 'directory' | 'symlink' | 'other';

/** What is at `file` itself (a link is reported as a link, never as what it points to). */
export async function pathKind(file: string): Promise<PathKind> {
  try {
    const info = await lstat(file);
    if (info.isSymbolicLink()) return 'symlink';
    if (info.isDirectory()) return 'directory';
    if (info.isFile()) return 'file';
    return 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
}

/** The refusal for a link at `file`, naming it and where it points. */
export async function symlinkRefusal(file: string, display: string): Promise<UserError> {
  const target = await readlink(file).catch(() => '(unreadable)');
  const resolved = path.resolve(path.dirname(file), target);
  const dangling = (await pathKind(resolved)) === 'missing' ? ', which does not exist' : '';
  return new UserError(
    `${display} is a symbolic link to ${JSON.stringify(target)}${dangling}; stagecraft never writes through a link (nothing written)`,
    { hint: `if you did not make this link (a cloned repository can plant one), delete it: rm ${JSON.stringify(display)}` },
  );
}

/** Throws a UserError if `file` is a symbolic link (dangling or not); a missing file is fine. */
export async function refuseSymlink(file: string, display: string): Promise<PathKind> {
  const kind = await pathKind(file);
  if (kind === 'symlink') throw await symlinkRefusal(file, display);
  return kind;
}

/** Like refuseSymlink, and a path that exists must be a directory. */
export async function refuseSymlinkedDirectory(dir: string, display: string): Promise<void> {
  const kind = await refuseSymlink(dir, display);
  if (kind !== 'missing' && kind !== 'directory') throw new UserError(`${display} exists and is not a directory; nothing written`);
}

/** Opens `file` for reading without following a final symbolic link (ELOOP becomes a clear refusal). */
export async function openNoFollow(file: string, display: string, flags: number = constants.O_RDONLY): Promise<FileHandle> {
  try {
    return await open(file, flags | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw await symlinkRefusal(file, display);
    throw error;
  }
}

/**
 * Creates `file`, which must not exist (a dangling link counts as existing: O_EXCL never follows
 * it). With `mode` the file gets exactly that mode; without, the usual 0666 less the umask.
 */
export async function createExclusive(file: string, data: string, mode?: number): Promise<void> {
  const handle = await open(file, 'wx', mode ?? 0o666);
  try {
    await handle.writeFile(data, 'utf8');
    if (mode !== undefined) await handle.chmod(mode); // the mode given to open is filtered by the umask
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` (or creates it) with `data`: a temp file in the same folder, then a rename.
 * The rename replaces whatever is at `file`, a link included, and never writes to a link's
 * target; callers refuse links first so that a planted link is reported rather than replaced.
 * The new file keeps the mode of the regular file it replaces unless `mode` is given.
 */
export async function replaceFile(file: string, data: string, mode?: number): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const existing = await lstat(file).catch(() => undefined);
  const keptMode = existing?.isFile() === true ? existing.mode & 0o7777 : undefined;
  let renamed = false;
  try {
    await createExclusive(temp, data, mode ?? keptMode);
    await rename(temp, file);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}
