/**
 * The raw engine's migrations: `NNNN_name.sql` files (and optional `NNNN_name.down.sql`) in one
 * directory, applied in numeric order. The id of a migration is its file name without `.sql`.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';

/** First line that makes the raw engine run a file statement by statement, outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- stagecraft:no-transaction';

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)(\.down)?\.sql$/;

export interface RawMigrationFile {
  /** `0001_create_users` */
  id: string;
  /** `0001_create_users.sql` */
  file: string;
  number: bigint;
  path: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
  sql: string;
  down?: { file: string; path: string } | undefined;
}

export function checksumOf(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** True when the file's first line is the no-transaction marker. */
export function isNoTransaction(sql: string): boolean {
  const firstLine = sql.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '';
  return firstLine.trim() === NO_TRANSACTION_MARKER;
}

/** Reads every migration under `dir`, in the order they apply; throws a UserError on a bad name or duplicate number. */
export async function readMigrationFiles(dir: string, displayDir: string): Promise<RawMigrationFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`migrations directory ${displayDir} does not exist`, { hint: 'check migrations.path in stagecraft.yml (relative to the file)' });
    if (code === 'ENOTDIR') throw new UserError(`migrations path ${displayDir} is not a directory`);
    throw new UserError(`cannot read migrations directory ${displayDir}: ${(error as Error).message}`);
  }

  const ups = new Map<string, { number: bigint; file: string }>();
  const downs = new Map<string, string>();
  const byNumber = new Map<bigint, string>();
  const problems: string[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(name);
    if (!match) {
      problems.push(`${printableName(name)}: expected NNNN_name.sql (or NNNN_name.down.sql)`);
      continue;
    }
    const notAFile = await notARegularFile(path.join(dir, name));
    if (notAFile !== undefined) {
      problems.push(`${name}: ${notAFile}; a migration must be a regular file`);
      continue;
    }
    const number = BigInt(match[1]!);
    const id = `${match[1]}_${match[2]}`;
    if (match[3]) {
      downs.set(id, name);
      continue;
    }
    const clash = byNumber.get(number);
    if (clash !== undefined) {
      problems.push(`${name}: number ${match[1]} is also used by ${clash}; each migration needs its own number`);
      continue;
    }
    byNumber.set(number, name);
    ups.set(id, { number, file: name });
  }
  for (const [id, down] of downs) {
    if (!ups.has(id)) problems.push(`${down}: no ${id}.sql to go with it`);
  }
  if (problems.length > 0) {
    throw new UserError(`${displayDir}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  }

  const ordered = [...ups.entries()].sort(([, a], [, b]) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  return Promise.all(
    ordered.map(async ([id, { number, file }]) => {
      const filePath = path.join(dir, file);
      const content = await readFile(filePath);
      const down = downs.get(id);
      return {
        id,
        file,
        number,
        path: filePath,
        checksum: checksumOf(content),
        sql: content.toString('utf8'),
        down: down === undefined ? undefined : { file: down, path: path.join(dir, down) },
      };
    }),
  );
}

/**
 * Why the entry at `file` cannot be read as a migration (a directory, a dangling link, a FIFO
 * that would block the read…), or undefined for a regular file or a link to one.
 */
async function notARegularFile(file: string): Promise<string | undefined> {
  let own;
  try {
    own = await lstat(file);
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (own.isFile()) return undefined;
  if (own.isDirectory()) return 'is a directory';
  if (!own.isSymbolicLink()) return 'is not a regular file (a device, socket or pipe)';
  try {
    const target = await stat(file);
    if (target.isFile()) return undefined;
    return target.isDirectory() ? 'is a symlink to a directory' : 'is a symlink to something that is not a regular file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'is a dangling symlink';
    if (code === 'ELOOP') return 'is a symlink loop';
    return `is a symlink that cannot be followed (${code ?? (error as Error).message})`;
  }
}

/**
 * A file name as it may be printed: control characters (newlines, ESC of terminal escape
 * sequences, C1 controls) and invisible or direction-changing Unicode are shown as \n, \x1b,
 * \u202e…, so a hostile name cannot rewrite the terminal or disguise itself. Quoted when it had any.
 */
export function printableName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
  if (!unsafe.test(name)) return name;
  const escaped = name.replace(unsafe, (char) => {
    const code = char.charCodeAt(0);
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return `"${escaped.replace(/"/g, '\\"')}"`;
}

/** Absolute migrations directory, and how messages show it (relative to the config dir). */
export function migrationsDir(configDir: string, migrationsPath: string): { dir: string; display: string } {
  const dir = path.resolve(configDir, migrationsPath);
  const relative = path.relative(process.cwd(), dir);
  return { dir, display: relative === '' ? '.' : relative.startsWith('..') ? dir : relative };
}
