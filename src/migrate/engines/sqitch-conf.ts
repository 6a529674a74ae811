/**
 * sqitch.conf (git-config syntax) as far as stagecraft's plan needs it: where the plan file and the
 * deploy scripts are, their extension, and the registry schema. stagecraft hands sqitch the target
 * as a URI (SQITCH_TARGET), so sqitch looks settings up in `engine.pg.*`, then `core.*`; named
 * `[target "..."]` sections describe other targets and are not consulted.
 */
import { posix } from 'node:path';

export type SqitchConfig = Map<string, string>;

/** `section.subsection.key` (section and key lower-cased, as git-config does) → value. */
export function parseSqitchConf(text: string): SqitchConfig {
  const values: SqitchConfig = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      section = header[2] === undefined ? header[1]!.toLowerCase() : `${header[1]!.toLowerCase()}.${header[2].replace(/\\(.)/g, '$1')}`;
      continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9_-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!entry || section === '') continue;
    values.set(`${section}.${entry[1]!.toLowerCase()}`, entry[2] === undefined ? 'true' : unquote(entry[2]));
  }
  return values;
}

/** A value without its trailing comment, quotes and escapes. */
function unquote(value: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < value.length) {
      const next = value[++i]!;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
    } else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trim();
}

export interface SqitchLayout {
  engine: string | undefined;
  /** Relative to the directory holding sqitch.conf (posix, normalised). */
  planFile: string;
  deployDir: string;
  reworkedDeployDir: string;
  extension: string;
  registry: string;
}

/** Where sqitch finds things for a target given as a URI (engine.<engine>.X, then core.X, then the default). */
export function sqitchLayout(config: SqitchConfig): SqitchLayout {
  const engine = config.get('core.engine');
  const fetch = (key: string) => (engine ? config.get(`engine.${engine}.${key}`) : undefined) ?? config.get(`core.${key}`);
  const top = fetch('top_dir') ?? '.';
  const reworked = fetch('reworked_dir') ?? top;
  const deployDir = posix.normalize(fetch('deploy_dir') ?? posix.join(top, 'deploy'));
  return {
    engine,
    planFile: posix.normalize(fetch('plan_file') ?? posix.join(top, 'sqitch.plan')),
    deployDir,
    reworkedDeployDir: posix.normalize(fetch('reworked_deploy_dir') ?? posix.join(reworked, 'deploy')),
    extension: fetch('extension') ?? 'sql',
    registry: fetch('registry') ?? 'sqitch',
  };
}
