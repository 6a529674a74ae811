import { execa } from 'execa';
import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';

/** Version tag of a deploy: `--version`, else the git short sha, with `-dirty` when the tree has changes. */
export async function resolveVersion(cwd: string, explicit?: string): Promise<{ version: string; commit?: string }> {
  const commit = await gitCommit(cwd);
  if (explicit !== undefined) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(explicit)) {
      throw new UserError(`--version ${quoteValue(explicit)} is not a valid image tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
    }
    return commit ? { version: explicit, commit } : { version: explicit };
  }
  if (!commit) {
    throw new UserError(`${cwd} is not a git repository with a commit, so there is no version to tag the image with`, {
      hint: 'pass --version TAG, or commit your app first',
    });
  }
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=normal'], { cwd, reject: false });
  const dirty = status.exitCode === 0 && status.stdout.trim() !== '';
  const short = commit.slice(0, 7);
  return { version: dirty ? `${short}-dirty` : short, commit };
}

async function gitCommit(cwd: string): Promise<string | undefined> {
  const result = await execa('git', ['rev-parse', 'HEAD'], { cwd, reject: false });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}
