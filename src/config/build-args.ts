/**
 * Build args end up in the image: with the classic builder stagecraft uses, `docker history
 * --no-trunc` shows every build arg a RUN step saw, value included, to anyone who can pull the
 * image. So a build arg must never carry a secret. The config knows which values are secrets: a
 * variable read from `.stagecraft/secrets`, a variable named in `env.secret`, and every value the
 * config redacts (registry password, database URLs and their passwords). A build arg holding one of
 * those is a config error at its file:line:col.
 */
import type { ConfigProblem } from './errors.js';
import { containsInterpolation, interpolate } from './interpolate.js';
import type { VariableLookup } from './interpolate.js';
import { isPlainObject } from './merge.js';
import { formatConfigPath } from './paths.js';
import type { ConfigPath } from './paths.js';

/** Secrets shorter than this are matched exactly only (a one-letter secret would match every value). */
const MIN_CONTAINED_SECRET_LENGTH = 4;

export interface BuildArgFacts {
  file: string;
  /** `builder.args` of the merged config. */
  args: unknown;
  /** Where the value at a merged path was written (the environment's layer or the top level). */
  filePathOf: (resolvedPath: ConfigPath) => ConfigPath;
  position: (filePath: ConfigPath) => { line: number; col: number };
  /** The value at a file path as written, before interpolation. */
  rawAt: (filePath: ConfigPath) => unknown;
  /** How `${VAR}` is resolved (environment, then .stagecraft/secrets). */
  lookup: VariableLookup;
  /** True when the variable's value came from `.stagecraft/secrets` (not from the environment). */
  fromSecretsFile: (name: string) => boolean;
  /** Names listed in env.secret. */
  secretNames: readonly string[];
  /** Every value the config treats as secret. */
  secretValues: readonly string[];
}

export function buildArgSecretProblems(facts: BuildArgFacts): ConfigProblem[] {
  if (!isPlainObject(facts.args)) return [];
  const problems: ConfigProblem[] = [];
  for (const [name, value] of Object.entries(facts.args)) {
    if (typeof value !== 'string') continue; // the schema reports it
    const filePath = facts.filePathOf(['builder', 'args', name]);
    const reason = secretReason(value, variablesOf(facts.rawAt(filePath), facts.lookup), facts);
    if (reason === undefined) continue;
    problems.push({
      file: facts.file,
      ...facts.position(filePath),
      message:
        `${formatConfigPath(filePath)}: ${reason}; build args are stored in the image (\`docker history\` shows their values to anyone who can pull it), ` +
        'so a secret cannot be one — give it to the running app through env.secret, or fetch what the build needs before `docker build` and COPY it in',
    });
  }
  return problems;
}

/** The variables a template looks up when it is expanded (a default's only when it is used). */
function variablesOf(raw: unknown, lookup: VariableLookup): string[] {
  if (typeof raw !== 'string' || !containsInterpolation(raw)) return [];
  const names: string[] = [];
  try {
    interpolate(raw, (name) => {
      names.push(name);
      return lookup(name);
    });
  } catch {
    // A missing variable is reported by the loader itself.
  }
  return names;
}

function secretReason(value: string, variables: readonly string[], facts: BuildArgFacts): string | undefined {
  for (const name of variables) {
    if (facts.secretNames.includes(name)) return `uses \${${name}}, which env.secret lists as a secret`;
    if (facts.fromSecretsFile(name)) return `uses \${${name}} from .stagecraft/secrets`;
  }
  const secret = facts.secretValues.some((candidate) =>
    candidate.length >= MIN_CONTAINED_SECRET_LENGTH ? value.includes(candidate) : candidate !== '' && value === candidate,
  );
  return secret ? 'its value is a secret (a registry password, database URL or env.secret value)' : undefined;
}
