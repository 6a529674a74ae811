import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';
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
 * existing secrets file is kept.
 */
export async function runInit(options: InitOptions): Promise<void> {
  const cwd = options.cwd ?? process.cwd();
  const configFile = path.resolve(cwd, options.config ?? 'stagecraft.yml');
  const dir = path.dirname(configFile);
  const secretsFile = path.join(dir, SECRETS_FILE);
  const gitignore = path.join(dir, '.gitignore');
  const show = (file: string): string => displayPath(file, cwd);

  if (!options.force) {
    const existing = [];
    for (const file of [configFile, secretsFile]) if (await exists(file)) existing.push(show(file));
    if (existing.length > 0) {
      throw new UserError(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing written`, {
        hint: 'run `stagecraft init --force` to overwrite stagecraft.yml (an existing secrets file is always kept)',
      });
    }
  }

  await mkdir(dir, { recursive: true });
  await writeFile(configFile, configTemplate(serviceNameFor(dir)));
  const lines = [`wrote ${show(configFile)}`];

  // Even with --force, real secrets are never replaced by placeholders.
  if (await exists(secretsFile)) {
    lines.push(`kept existing ${show(secretsFile)} (mode 0600)`);
  } else {
    await mkdir(path.dirname(secretsFile), { recursive: true });
    await writeFile(secretsFile, secretsTemplate(), { mode: 0o600 });
    lines.push(`wrote ${show(secretsFile)} (mode 0600)`);
  }
  await chmod(secretsFile, 0o600); // writeFile's mode is filtered by the umask; an existing file keeps its own

  const ignored = await ensureIgnored(gitignore);
  lines.push(ignored ? `added ${GITIGNORE_ENTRY} to ${show(gitignore)}` : `${show(gitignore)} already ignores ${GITIGNORE_ENTRY}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Appends the secrets file to .gitignore unless a line already ignores it; returns whether it appended. */
async function ensureIgnored(gitignore: string): Promise<boolean> {
  let current = '';
  try {
    current = await readFile(gitignore, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const entries = current.split(/\r?\n/).map((line) => line.trim());
  if (entries.includes(GITIGNORE_ENTRY) || entries.includes(`/${GITIGNORE_ENTRY}`)) return false;
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await writeFile(gitignore, `${current}${separator}${GITIGNORE_ENTRY}\n`);
  return true;
}
