import path from 'node:path';

/** A location inside the config tree: mapping keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

/** `environments.prod.hosts[0].address`; the empty path is the top level. */
export function formatConfigPath(configPath: ConfigPath): string {
  let text = '';
  for (const segment of configPath) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

export function pathKey(configPath: ConfigPath): string {
  return JSON.stringify(configPath);
}

/** File names in messages: relative to the working directory when inside it, else absolute. */
export function displayPath(absolute: string, cwd: string): string {
  const relative = path.relative(cwd, absolute);
  if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) return relative;
  return absolute;
}
