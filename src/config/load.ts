import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { ConfigError, formatProblem } from './errors.js';
import { quoteValue } from '../user-text.js';
import type { ConfigProblem } from './errors.js';
import { SECRETS_FILE_HINT, InterpolationError, checkInterpolationSyntax, containsInterpolation, interpolate } from './interpolate.js';
import type { VariableLookup } from './interpolate.js';
import { describeValue, issuesToProblems, valueAt } from './issues.js';
import { emptyMapping, isPlainObject, mergeEnvironment } from './merge.js';
import type { PlainObject } from './merge.js';
import { displayPath, formatConfigPath, pathKey } from './paths.js';
import type { ConfigPath } from './paths.js';
import { ENV_VAR_NAME, EXTENSION_PREFIX, LOCAL_ADDRESS, fileSchema, parseSecretsConfig, resolvedConfigSchema, schemaAt } from './schema.js';
import type { ResolvedConfig } from './schema.js';
import { readInputFile } from './read-input.js';
import { isSecretField } from './redact.js';
import { buildArgSecretProblems } from './build-args.js';
import { readSecretsFile } from './secrets-file.js';
import { secretCommands } from './secrets-command.js';
import { selectEnvironment } from './select-environment.js';
import { YamlSource } from './yaml-source.js';

export interface LoadConfigOptions {
  /** The config file, relative to `cwd` (the `-c` option; usually `stagecraft.yml`). */
  path: string;
  /** The `--env` option (or STAGECRAFT_ENV); may be omitted when the file defines one environment. */
  environment?: string;
  /** Where `${VAR}` and `env.secret` are looked up first (default `process.env`). */
  processEnv?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where warnings go, one line each (default: stderr, as `warning: ...`, so stdout stays clean for --json). */
  warn?: (message: string) => void;
}

export interface LoadedConfig {
  /** The config file as displayed in messages: relative to cwd when inside it. */
  readonly file: string;
  /** Absolute directory of the config file (`.stagecraft/` lives here). */
  readonly dir: string;
  readonly environment: string;
  /** Every environment the file defines, in file order. */
  readonly environments: readonly string[];
  /** The chosen environment merged over the top level, defaults applied; deep-frozen. Holds secrets: redact before printing. */
  readonly config: ResolvedConfig;
  /** Values of the variables named in `env.secret`. */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** Per accessory, the values of the variables its `env.secret` names. */
  readonly accessorySecretEnv?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Every secret value (env.secret values, registry.password, database URLs and their passwords), for redaction. */
  readonly secretValues: readonly string[];
  /**
   * Where a setting of the resolved config is written (the environment's override when it has one;
   * the nearest written parent when it is a default), for errors found after loading.
   */
  readonly positionOf?: (at: ConfigPath) => { file: string; line: number; col: number };
}

/**
 * Reads, interpolates, validates and merges stagecraft.yml for one environment. Every mistake in the
 * file is collected and thrown as one ConfigError (one `file:line:col: message` line each).
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const processEnv = options.processEnv ?? process.env;
  const absolute = path.resolve(cwd, options.path);
  const file = displayPath(absolute, cwd);
  const dir = path.dirname(absolute);

  const source = YamlSource.parse(await readConfigText(absolute, file), file);
  const secretsFile = await readSecretsFile(dir, cwd);
  const problems: ConfigProblem[] = [...secretsFile.problems];
  const document = source.toValue();
  if (!isPlainObject(document)) {
    const message =
      document === null || document === undefined
        ? 'the file is empty: expected a mapping with service, image and environments'
        : `expected a mapping at top level, got ${describeValue(document)}`;
    throw new ConfigError([...problems, { file, line: 1, col: 1, message }]);
  }

  const environments = isPlainObject(document.environments) ? Object.keys(document.environments) : [];
  const environment = selectEnvironment(options.environment, environments, file, source.keyPosition(['environments']));
  // Own properties only: `${constructor}` must not find Object.prototype.constructor.
  // Commands in `secrets:` fill in what neither the environment nor the secrets file has (run on first need).
  const commands = secretCommands(parseSecretsConfig(document.secrets), dir, (at) => ({ file, ...source.valuePosition(at) }));
  const lookup: VariableLookup = (name) => (Object.hasOwn(processEnv, name) ? processEnv[name] : undefined) ?? secretsFile.values.get(name) ?? commands.lookup(name);

  const expanded = expandVariables(withoutExtensions(document), source, environment, lookup);
  problems.push(...expanded.problems);
  const quotedInterpolation = (filePath: ConfigPath): boolean => expanded.quoted.has(pathKey(filePath));
  const hiddenBecause = valueHider(expanded.tree, secretsFile.values, lookup, commands.values);

  const fileCheck = fileSchema.safeParse(expanded.tree);
  if (!fileCheck.success) {
    const issues = fileCheck.error.issues.filter((issue) => !expanded.unexpanded.has(pathKey(issue.path as ConfigPath)));
    problems.push(...issuesToProblems(issues, { source, tree: expanded.tree, filePathOf: (p) => p, quotedInterpolation, hiddenBecause }));
  }

  const environmentLayer = environment === undefined ? undefined : (expanded.tree.environments as PlainObject)[environment];
  if (environment === undefined || !isPlainObject(environmentLayer)) {
    throw new ConfigError(problems.length > 0 ? problems : [{ file, line: 1, col: 1, message: 'no environment to load' }]);
  }

  const { merged, origins } = mergeEnvironment(expanded.tree, environment);
  const resolved = resolvedConfigSchema.safeParse(merged);
  if (!resolved.success) {
    const issues = resolved.error.issues.filter(
      (issue) => !expanded.unexpanded.has(pathKey(origins.filePathOf(issue.path as ConfigPath))),
    );
    problems.push(
      ...issuesToProblems(issues, {
        source,
        tree: merged,
        filePathOf: (p) => origins.filePathOf(p),
        quotedInterpolation,
        hiddenBecause,
      }),
    );
  }

  // The values of an `env.secret` list (the app's, or an accessory's at `envAt`).
  const readSecretEnv = (envAt: ConfigPath): Record<string, string> => {
    const values = emptyMapping() as Record<string, string>;
    const names = valueAt(merged, [...envAt, 'secret']);
    if (!Array.isArray(names)) return values;
    names.forEach((name: unknown, index) => {
      if (typeof name !== 'string' || !ENV_VAR_NAME.test(name)) return; // the schema reports bad names
      const value = lookup(name);
      if (value !== undefined) {
        values[name] = value;
        return;
      }
      const filePath = origins.filePathOf([...envAt, 'secret', index]);
      problems.push({
        file,
        ...source.valuePosition(filePath),
        message: `${formatConfigPath(filePath)}: secret "${name}" is not set (${SECRETS_FILE_HINT})`,
      });
    });
    return values;
  };
  const secretEnv = readSecretEnv(['env']);
  const secretNames = valueAt(merged, ['env', 'secret']);
  const accessorySecretEnv = emptyMapping() as Record<string, Record<string, string>>;
  const accessories = valueAt(merged, ['accessories']);
  if (isPlainObject(accessories)) {
    for (const name of Object.keys(accessories)) accessorySecretEnv[name] = readSecretEnv(['accessories', name, 'env']);
  }
  const allSecretEnv = { ...Object.assign({}, ...Object.values(accessorySecretEnv)), ...secretEnv } as Record<string, string>;

  problems.push(
    ...buildArgSecretProblems({
      file,
      args: valueAt(merged, ['builder', 'args']),
      filePathOf: (p) => origins.filePathOf(p),
      position: (p) => source.valuePosition(p),
      rawAt: (p) => valueAt(document, p),
      lookup,
      fromSecretsFile: (name) => (!Object.hasOwn(processEnv, name) || processEnv[name] === undefined) && secretsFile.values.has(name),
      secretNames: Array.isArray(secretNames) ? secretNames.filter((name): name is string => typeof name === 'string') : [],
      secretValues: resolved.success ? collectSecretValues(resolved.data, allSecretEnv) : Object.values(allSecretEnv),
    }),
  );

  problems.push(...commands.problems());
  if (resolved.success && resolved.data.orchestration !== undefined) {
    const planFile = resolved.data.orchestration.plan;
    if (!(await isFile(path.resolve(dir, planFile)))) {
      const at = origins.filePathOf(['orchestration', 'plan']);
      problems.push({ file, ...source.valuePosition(at), message: `${formatConfigPath(at)}: ${quoteValue(planFile)} is not a file (the path is relative to ${path.basename(file)})` });
    }
  }
  if (problems.length > 0 || !resolved.success) throw new ConfigError(problems);

  const warn = options.warn ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  if (secretsFile.warning !== undefined) warn(secretsFile.warning);
  if (!resolved.data.ssh.strict_host_key_checking && resolved.data.hosts.some((host) => host.address !== LOCAL_ADDRESS)) {
    const at = origins.filePathOf(['ssh', 'strict_host_key_checking']);
    warn(
      `${formatProblem({ file, ...source.valuePosition(at), message: '' }).slice(0, -1)} ssh.strict_host_key_checking is false for environment ${quoteValue(environment)}: host keys are not verified, so anyone on the network path can impersonate your servers`,
    );
  }

  return deepFreeze({
    file,
    dir,
    environment,
    environments,
    config: resolved.data,
    secretEnv,
    accessorySecretEnv,
    secretValues: [...collectSecretValues(resolved.data, allSecretEnv), ...commands.values()],
    positionOf: (at: ConfigPath) => ({ file, ...source.valuePosition(origins.filePathOf(at)) }),
  });
}

/** Top-level `x-*` keys are free-form (a place for YAML anchors); they are neither validated nor expanded. */
function withoutExtensions(document: PlainObject): PlainObject {
  return Object.fromEntries(Object.entries(document).filter(([key]) => !key.startsWith(EXTENSION_PREFIX)));
}

async function isFile(absolute: string): Promise<boolean> {
  try {
    return (await stat(absolute)).isFile();
  } catch {
    return false;
  }
}

async function readConfigText(absolute: string, file: string): Promise<string> {
  const input = await readInputFile(absolute, file);
  if (input === undefined) throw new UserError(`${file}: not found (run \`stagecraft init\`)`);
  return input.text;
}

interface ExpandedTree {
  tree: PlainObject;
  problems: ConfigProblem[];
  /** Paths of values left unexpanded (another environment's, or failed): their type is unknown, so not checked. */
  unexpanded: Set<string>;
  /** Paths of quoted scalars that used `${...}`. */
  quoted: Set<string>;
}

/**
 * Interpolates every string of the top level and of the chosen environment. Other environments are
 * only checked for syntax: their variables may well be unset here. A plain (unquoted) scalar such as
 * `port: ${SSH_PORT}` becomes a number or boolean when the schema expects one.
 */
function expandVariables(document: PlainObject, source: YamlSource, environment: string | undefined, lookup: VariableLookup): ExpandedTree {
  const problems: ConfigProblem[] = [];
  const unexpanded = new Set<string>();
  const quoted = new Set<string>();

  const expandString = (text: string, at: ConfigPath): unknown => {
    if (!text.includes('$')) return text;
    const inScope = at[0] !== 'environments' || at[1] === environment;
    try {
      if (!inScope) {
        checkInterpolationSyntax(text);
        if (containsInterpolation(text)) unexpanded.add(pathKey(at));
        return text;
      }
      const value = interpolate(text, lookup);
      if (!containsInterpolation(text)) return value;
      if (source.isPlainScalar(at)) return coerceScalar(value, at);
      quoted.add(pathKey(at));
      return value;
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      unexpanded.add(pathKey(at));
      const message =
        error.quotesText && isSecretField(at)
          ? 'malformed "${...}" (the value is not shown: secret field; write "$$" for a literal "$")'
          : error.message;
      problems.push({ file: source.file, ...source.valuePosition(at), message: `${formatConfigPath(at)}: ${message}` });
      return text;
    }
  };

  // Builds a new tree: aliases share objects in the parsed value, and each use must be expanded once.
  const walk = (node: unknown, at: ConfigPath): unknown => {
    if (typeof node === 'string') return expandString(node, at);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...at, index]));
    if (isPlainObject(node)) {
      const copy = emptyMapping();
      for (const [key, child] of Object.entries(node)) copy[key] = walk(child, [...at, key]);
      return copy;
    }
    return node;
  };

  return { tree: walk(document, []) as PlainObject, problems, unexpanded, quoted };
}

/**
 * Which values a validation message must not quote: those of secret fields, and any value holding a
 * secret (a value from .stagecraft/secrets, of a variable an env.secret lists, or of a secret field).
 */
function valueHider(
  tree: PlainObject,
  secretsFileValues: ReadonlyMap<string, string>,
  lookup: VariableLookup,
  commandValues: () => string[],
): (filePath: ConfigPath, value: unknown) => string | undefined {
  const secrets = new Set<string>(secretsFileValues.values());
  const walk = (node: unknown, at: ConfigPath): void => {
    if (typeof node === 'string' && isSecretField(at)) secrets.add(node);
    else if (Array.isArray(node)) {
      const isSecretList = at[at.length - 1] === 'secret' && at[at.length - 2] === 'env';
      node.forEach((item, index) => {
        const value = isSecretList && typeof item === 'string' && ENV_VAR_NAME.test(item) ? lookup(item) : undefined;
        if (value !== undefined) secrets.add(value);
        walk(item, [...at, index]);
      });
    } else if (isPlainObject(node)) for (const [key, child] of Object.entries(node)) walk(child, [...at, key]);
  };
  walk(tree, []);
  for (const value of commandValues()) secrets.add(value);
  secrets.delete('');
  const texts = [...secrets];
  return (filePath, value) => {
    if (isSecretField(filePath)) return 'secret field';
    if (typeof value !== 'string' && typeof value !== 'number') return undefined;
    const text = String(value);
    return texts.some((secret) => text.includes(secret)) ? 'it holds a secret' : undefined;
  };
}

function coerceScalar(value: string, at: ConfigPath): unknown {
  const expected = schemaAt(fileSchema, at);
  if (expected instanceof z.ZodNumber && /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(value)) return Number(value);
  if (expected instanceof z.ZodBoolean && /^(?:true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return value;
}

function collectSecretValues(config: ResolvedConfig, secretEnv: Readonly<Record<string, string>>): string[] {
  const values = [...Object.values(secretEnv)];
  if (config.registry?.password !== undefined) values.push(config.registry.password);
  for (const database of Object.values(config.databases)) {
    for (const url of [database.url, ...Object.values(database.targets ?? {})]) values.push(url, ...urlPasswords(url));
  }
  return [...new Set(values)].filter((value) => value !== '').sort((a, b) => b.length - a.length);
}

/**
 * The password inside a database URL is redacted on its own too (drivers print URLs without it, or it
 * alone). Very short ones are skipped: redacting every "a" would garble all output.
 */
const MIN_URL_PASSWORD_LENGTH = 4;

function urlPasswords(url: string): string[] {
  try {
    const password = new URL(url).password;
    if (password.length < MIN_URL_PASSWORD_LENGTH) return [];
    try {
      return [password, decodeURIComponent(password)];
    } catch {
      return [password];
    }
  } catch {
    return [];
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
