import { constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { createExclusive, openNoFollow, refuseSymlink, refuseSymlinkedDirectory, replaceFile } from '../../local-files.js';
import { displayPath } from '../../config/paths.js';
import { SECRETS_FILE } from '../../config/secrets-file.js';
import { configTemplate, secretsTemplate, serviceNameFor } from '../../config/template.js';

export interface InitOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  force: boolean;
  /** Defaults to the process working directory. */
  cwd?: string;
}

const GITIGNORE_ENTRY = '.stagecraft/secrets';

/**
 * `stagecraft init`: writes stagecraft.yml and .stagecraft/secrets (mode 0600), and adds the secrets
 * file to .gitignore. Refuses, writing nothing, if either file exists, unless --force; even then an
 * existing secrets file is kept. Never writes through a symbolic link: if any of those files, or
 * the .stagecraft folder, is a link (dangling or not), it refuses before writing anything.
 */
export async function runInit(options: InitOptions): Promise<void> {
  const cwd = options.cwd ?? process.cwd();
  const configFile = path.resolve(cwd, options.config ?? 'stagecraft.yml');
  const dir = path.dirname(configFile);
  const secretsFile = path.join(dir, SECRETS_FILE);
  const stagecraftDir = path.dirname(secretsFile);
  const gitignore = path.join(dir, '.gitignore');
  const show = (file: string): string => displayPath(file, cwd);

  // Every check before the first write: a refusal leaves the project as it was.
  const configKind = await refuseSymlink(configFile, show(configFile));
  if (configKind !== 'missing' && configKind !== 'file') throw new UserError(`${show(configFile)} exists and is not a regular file; nothing written`);
  await refuseSymlinkedDirectory(stagecraftDir, show(stagecraftDir));
  const secretsKind = await refuseSymlink(secretsFile, show(secretsFile));
  if (secretsKind !== 'missing' && secretsKind !== 'file') throw new UserError(`${show(secretsFile)} exists and is not a regular file; nothing written`);
  const gitignoreKind = await refuseSymlink(gitignore, show(gitignore));
  if (gitignoreKind !== 'missing' && gitignoreKind !== 'file') throw new UserError(`${show(gitignore)} exists and is not a regular file; nothing written`);

  if (!options.force) {
    const existing = [];
    if (configKind !== 'missing') existing.push(show(configFile));
    if (secretsKind !== 'missing') existing.push(show(secretsFile));
    if (existing.length > 0) {
      throw new UserError(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing written`, {
        hint: 'run `stagecraft init --force` to overwrite stagecraft.yml (an existing secrets file is always kept)',
      });
    }
  }

  await mkdir(dir, { recursive: true });
  const config = configTemplate(serviceNameFor(dir));
  // A new file with O_EXCL (never through a link); an existing one replaced by a rename.
  if (configKind === 'missing') await createExclusive(configFile, config);
  else await replaceFile(configFile, config);
  const lines = [`wrote ${show(configFile)}`];

  await mkdir(stagecraftDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await refuseSymlinkedDirectory(stagecraftDir, show(stagecraftDir));
  // Even with --force, real secrets are never replaced by placeholders.
  if (secretsKind === 'file') {
    // An existing file keeps its content; its mode is set through a handle that refuses a link.
    const handle = await openNoFollow(secretsFile, show(secretsFile));
    try {
      await handle.chmod(0o600);
    } finally {
      await handle.close();
    }
    lines.push(`kept existing ${show(secretsFile)} (mode 0600)`);
  } else {
    await createExclusive(secretsFile, secretsTemplate(), 0o600);
    lines.push(`wrote ${show(secretsFile)} (mode 0600)`);
  }

  const ignored = await ensureIgnored(gitignore, show(gitignore));
  lines.push(ignored ? `added ${GITIGNORE_ENTRY} to ${show(gitignore)}` : `${show(gitignore)} already ignores ${GITIGNORE_ENTRY}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Appends the secrets file to .gitignore unless a line already ignores it; returns whether it appended. */
async function ensureIgnored(gitignore: string, display: string): Promise<boolean> {
  let current: string | undefined;
  try {
    const handle = await openNoFollow(gitignore, display);
    try {
      current = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (current === undefined) {
    await createExclusive(gitignore, `${GITIGNORE_ENTRY}\n`);
    return true;
  }
  const entries = current.split(/\r?\n/).map((line) => line.trim());
  if (entries.includes(GITIGNORE_ENTRY) || entries.includes(`/${GITIGNORE_ENTRY}`)) return false;
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  const handle = await openNoFollow(gitignore, display, constants.O_WRONLY | constants.O_APPEND);
  try {
    await handle.writeFile(`${separator}${GITIGNORE_ENTRY}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  return true;
}
