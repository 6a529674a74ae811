import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The first source file whose compiled file is missing or older than it. */
function staleSource(): string | undefined {
  const src = join(root, 'src');
  return sourceFiles(src).find((file) => {
    const compiled = join(root, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    try {
      return statSync(compiled).mtimeMs < statSync(file).mtimeMs;
    } catch {
      return true;
    }
  });
}

/**
 * Unit tests that run the real CLI (`bin/stagecraft.js` loads `dist/`) must not test a stale
 * build: compile when a source file is newer than its compiled file.
 */
export default async function setup(): Promise<void> {
  const stale = staleSource();
  if (stale === undefined) return;
  process.stdout.write(`[unit] dist/ is older than ${relative(root, stale)}: building (tsc -p tsconfig.build.json)\n`);
  await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
