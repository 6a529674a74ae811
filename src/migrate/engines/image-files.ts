/**
 * Migration files as the app image holds them, read without running anything: a container is
 * created from the image and never started, the Docker API hands over the archive of the
 * directory (as `docker cp` would), and the container is removed. This is how plans of tool
 * engines learn what is pending without starting the tool.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path, { posix } from 'node:path';
import { displayPath } from '../../config/paths.js';
import { TarTooLargeError, readTarFiles } from '../../remote/tar.js';
import type { EngineTarget } from '../types.js';

export interface ImageTree {
  /** The directory read, absolute in the image. */
  root: string;
  /** Regular files under it by path relative to `root` (posix), sorted by path. */
  files: Map<string, Buffer>;
}

export interface ReadImageFilesOptions {
  /** Keep the content of these files only (relative paths); others are skipped unread. */
  include?: (path: string) => boolean;
  maxBytes?: number;
}

export type ImageFilesTarget = Pick<EngineTarget, 'image' | 'host' | 'pullImage' | 'registryAuth' | 'containerName' | 'service' | 'environment'>;

/** `dir` relative to the image's WORKDIR (or `/`), as the tool in the image would resolve it. */
export function imagePath(workingDir: string | undefined, dir: string): string {
  return posix.resolve(workingDir && workingDir !== '' ? workingDir : '/', dir);
}

/** Files of the archive of `root`, whose entries start with the directory's own name. */
export function filesUnder(root: string, entries: ReadonlyArray<{ path: string; content: Buffer }>): Map<string, Buffer> {
  const top = posix.basename(root);
  const files = [...entries]
    .flatMap((entry) => {
      const relative = top === '' ? entry.path : entry.path.startsWith(`${top}/`) ? entry.path.slice(top.length + 1) : undefined;
      return relative ? [[relative, entry.content] as const] : [];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(files);
}

/**
 * Reads the regular files under `dir` in the target's image. `{ missing }` says why there are none
 * to read: no image, or no such directory in it. Engine and transport failures throw.
 */
export async function readImageFiles(target: ImageFilesTarget, dir: string, options: ReadImageFilesOptions = {}): Promise<ImageTree | { missing: string }> {
  if ('missing' in target.image) return { missing: `no app image to read ${dir} from: ${target.image.missing}` };
  const image = target.image.ref;
  const host = await target.host();
  const ops = await host.dockerOps();
  if (target.pullImage !== false) await ops.pullImage(image, target.registryAuth);
  const info = await ops.inspectImage(image);
  if (!info) return { missing: `image ${image} is not on ${host.name}` };
  const root = imagePath(info.Config?.WorkingDir, dir);
  const name = `${target.containerName}-files-${randomBytes(3).toString('hex')}`;
  await ops.createContainer({
    Image: image,
    name,
    // Never started: the command only has to make the create valid for images without one.
    Cmd: ['stagecraft-reads-files-only'],
    Labels: { 'stagecraft.service': target.service, 'stagecraft.environment': target.environment, 'stagecraft.role': 'migrate-files' },
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    const archive = await ops.readArchive(name, root);
    if (!archive) return { missing: `${root} does not exist in image ${image}` };
    const include = options.include;
    const top = posix.basename(root);
    const entries = await readTarFiles(archive, {
      ...(include ? { include: (path: string) => include(top === '' ? path : path.slice(top.length + 1)) } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    }).catch((error: unknown) => {
      if (error instanceof TarTooLargeError) throw new Error(`${root} in image ${image} holds ${error.message}: not read`);
      throw error;
    });
    return { root, files: filesUnder(root, entries) };
  } finally {
    await ops.removeContainer(name, { force: true });
  }
}

/** The same tree from the project's own files (what the build context holds), read in place. */
export async function readProjectFiles(configDir: string, dir: string, options: ReadImageFilesOptions = {}): Promise<ImageTree | { missing: string }> {
  const root = path.resolve(configDir, dir);
  const shown = displayPath(root, process.cwd());
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) return { missing: `${shown} is not a directory in the project (migrations.path, relative to stagecraft.yml)` };
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const found: Array<[string, Buffer]> = [];
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && (options.include?.(child) ?? true)) {
        const content = await readFile(path.join(root, child));
        total += content.length;
        if (total > maxBytes) throw new Error(`${shown} holds more than ${maxBytes} bytes of files: not read`);
        found.push([child, content]);
      }
    }
  };
  await walk('');
  found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { root, files: new Map(found) };
}

/** The engine's migration files where the target says to read them: the app image, or the project. */
export function readMigrationTree(target: ImageFilesTarget & Pick<EngineTarget, 'configDir' | 'migrationFiles'>, dir: string, options: ReadImageFilesOptions = {}): Promise<ImageTree | { missing: string }> {
  return target.migrationFiles === 'project' ? readProjectFiles(target.configDir, dir, options) : readImageFiles(target, dir, options);
}
