/** `migrate new` without --env: the first environment stagecraft.yml defines, to load the config with. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

export async function firstEnvironment(file: string): Promise<string | undefined> {
  try {
    const document = parse(await readFile(file, 'utf8')) as unknown;
    if (typeof document !== 'object' || document === null) return undefined;
    const environments = (document as { environments?: unknown }).environments;
    if (typeof environments !== 'object' || environments === null) return undefined;
    return Object.keys(environments)[0];
  } catch {
    // loadConfig reports a missing or broken file with its position.
    return undefined;
  }
}
