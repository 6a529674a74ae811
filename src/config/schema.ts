import { z } from 'zod';
import { DURATION_HINT, DURATION_PATTERN } from './duration.js';

/**
 * The schema of a resolved config (one environment merged over the top level) is the single source
 * of truth; the schema of the file (top level + environment overrides, any of which may be partial)
 * is derived from it with `deepPartial`.
 */

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATABASE_NAME = /^[a-z0-9_-]+$/;
/** Repository only: the last path component has no `:tag` and there is no `@digest`. */
const IMAGE_REPOSITORY = /^(?:[A-Za-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/;

export const MIGRATION_ENGINES = ['raw', 'knex', 'prisma', 'drizzle', 'golang-migrate', 'sqitch', 'node-pg-migrate', 'command'] as const;
export const MIGRATION_STRATEGIES = ['pre_deploy', 'post_deploy', 'manual'] as const;
export const ROLLOUT_STRATEGIES = ['all', 'rolling', 'canary'] as const;
/** `databases.X.migrations.fan_out.strategy` (the same as `migrate run --fan-out`; see src/migrate/fan-out/fan-out.ts). */
export const FAN_OUT_STRATEGY_NAMES = ['sequential', 'parallel', 'rolling', 'canary'] as const;
/** `databases.X.targets` keys: `main/tenant_a` on the command line and in output. */
export const TARGET_NAME = /^[a-z0-9_-]+$/;
export const DEFAULT_ENVIRONMENT_PRIORITY = 100;
export const PRIMARY_ROLE = 'primary';
/** Top-level keys starting with this are ignored: a place for YAML anchors, as in docker-compose. */
export const EXTENSION_PREFIX = 'x-';
/** `address: local` deploys through the local Docker socket instead of SSH. */
export const LOCAL_ADDRESS = 'local';

/** Custom issues that stand for a key missing in context carry these params. */
export interface MissingKeyParams {
  missingKey: string;
  reason: string;
}

const duration = () => z.string().regex(DURATION_PATTERN, DURATION_HINT);
const port = () => z.number().int().min(1).max(65535);
const nonEmpty = () => z.string().min(1);
const envVarName = () =>
  z.string().regex(ENV_VAR_NAME, 'must be an environment variable name (letters, digits and _, not starting with a digit)');
const argv = () => z.array(z.string()).min(1).describe('argv list, e.g. [npm, run, migrate]; never run through a shell');

const registrySchema = z
  .strictObject({
    server: nonEmpty().describe('registry host[:port], used for docker login'),
    username: nonEmpty().optional(),
    password: z.string().optional().describe('secret: redacted in every output'),
  })
  .describe('container registry the image is pushed to and pulled from');

const builderSchema = z.strictObject({
  context: nonEmpty().default('.'),
  dockerfile: nonEmpty().default('Dockerfile'),
  args: z.record(z.string(), z.string()).default({}).describe('build arguments (values are strings: quote numbers)'),
  target: nonEmpty().optional(),
});

const sshSchema = z.strictObject({
  user: nonEmpty().default('root'),
  port: port().default(22),
  keys: z.array(nonEmpty()).default([]).describe('private key files; the SSH agent is used as well'),
  known_hosts: nonEmpty().default('~/.ssh/known_hosts'),
  strict_host_key_checking: z.boolean().default(true),
  connect_timeout: duration().default('5s'),
});

const envSchema = z
  .strictObject({
    clear: z.record(envVarName(), z.string()).default({}).describe('plain variables passed to the app (values are strings: quote numbers)'),
    secret: z.array(envVarName()).default([]).describe('names of variables read from the environment or .stagecraft/secrets'),
  })
  .superRefine((env, ctx) => {
    const secretNames = new Set(env.secret);
    for (const name of Object.keys(env.clear)) {
      if (secretNames.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['clear', name], message: `"${name}" is listed in both env.clear and env.secret` });
      }
    }
  });

const healthcheckSchema = z.strictObject({
  path: z.string().regex(/^\//, 'must start with "/"').default('/up'),
  interval: duration().default('1s'),
  timeout: duration().default('30s'),
});

const proxySchema = z.strictObject({
  image: nonEmpty().default('nginx:stable').describe('reverse proxy image (the official nginx image by default)'),
  port: port().default(80).describe('port the proxy listens on, on each host'),
  app_port: port().default(3000).describe('port the app listens on inside its container'),
  healthcheck: healthcheckSchema.prefault({}),
  drain_timeout: duration().default('5s'),
});

const hooksSchema = z.strictObject({ path: nonEmpty().default('.stagecraft/hooks') });

const retainSchema = z.number().int().min(1).describe('old releases (containers, images) kept on each host');

const rolloutSchema = z
  .strictObject({
    strategy: z.enum(ROLLOUT_STRATEGIES).default('all'),
    batch_size: z.number().int().min(1).optional().describe('hosts per batch for strategy rolling (default 1)'),
    canary_percent: z.number().int().min(1).max(100).optional().describe('share of hosts deployed first for strategy canary'),
    max_parallel: z.number().int().min(1).default(4),
  })
  .superRefine((rollout, ctx) => {
    if (rollout.strategy === 'canary' && rollout.canary_percent === undefined) {
      const params: MissingKeyParams = { missingKey: 'canary_percent', reason: 'strategy canary needs it' };
      ctx.addIssue({ code: 'custom', path: ['canary_percent'], message: 'missing canary_percent', params });
    }
  })
  .transform((rollout) =>
    rollout.strategy === 'rolling' && rollout.batch_size === undefined ? { ...rollout, batch_size: 1 } : rollout,
  );

const fanOutSchema = z
  .strictObject({
    strategy: z.enum(FAN_OUT_STRATEGY_NAMES).default('sequential'),
    max_concurrent: z.number().int().min(1).optional().describe('parallel and canary (after the canaries): targets at once (default 4)'),
    batch_size: z.number().int().min(1).optional().describe('rolling: targets per batch (default 1)'),
    canary_percent: z.number().int().min(1).max(100).optional().describe('canary: share of the targets migrated first, one after another (default 10)'),
  })
  .superRefine((fanOut, ctx) => {
    const only = { max_concurrent: ['parallel', 'canary'], batch_size: ['rolling'], canary_percent: ['canary'] } as const;
    for (const [key, strategies] of Object.entries(only) as [keyof typeof only, readonly string[]][]) {
      if (fanOut[key] !== undefined && !strategies.includes(fanOut.strategy)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for strategy ${strategies.join(' or ')}, not ${fanOut.strategy}` });
      }
    }
  })
  .describe('how a deploy migrates the targets of this database (the same as `migrate run --fan-out`)');

const migrationsSchema = z
  .strictObject({
    engine: z.enum(MIGRATION_ENGINES),
    path: nonEmpty().optional().describe('migrations directory (required for every engine except command)'),
    strategy: z.enum(MIGRATION_STRATEGIES).default('pre_deploy'),
    timeout: duration().default('10m'),
    lock_timeout: duration().optional().describe('raw engine: how long to wait for the migration advisory lock (default 60s)'),
    statement_lock_timeout: duration()
      .optional()
      .describe('raw engine: PostgreSQL lock_timeout while migrating (default 5s): a statement waiting longer for a lock fails and is retried, so a migration never queues the queries of a busy table behind itself; 0s waits forever'),
    lock_retries: z.number().int().min(0).max(10).optional().describe('raw engine: retries of a migration that hit statement_lock_timeout, after 1s, 2s, 4s… (default 3)'),
    command: argv().optional().describe('container engines: the command that applies migrations (replaces the engine default)'),
    plan_command: argv().optional().describe('container engines: the command that prints migration status (replaces the engine default)'),
    table: nonEmpty()
      .regex(/^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/, 'must be "table" or "schema.table"')
      .optional()
      .describe("tool engines: the tool's bookkeeping table as \"table\" or \"schema.table\", when the tool's own config moves it (default: the tool's default, e.g. knex_migrations); plan reads it directly"),
    fan_out: fanOutSchema.optional(),
  })
  .superRefine((migrations, ctx) => {
    if (migrations.engine !== 'raw') {
      for (const key of ['statement_lock_timeout', 'lock_retries'] as const) {
        if (migrations[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for the raw engine; ${migrations.engine} takes its own locks` });
        }
      }
    }
    if ((migrations.engine === 'raw' || migrations.engine === 'command') && migrations.table !== undefined) {
      const why = migrations.engine === 'raw' ? 'engine raw keeps its own tracking table' : 'engine command reads its state with plan_command';
      ctx.addIssue({ code: 'custom', path: ['table'], message: `${why}: remove table` });
    }
    if (migrations.engine === 'raw') {
      for (const key of ['command', 'plan_command'] as const) {
        if (migrations[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `engine raw applies the SQL files itself: remove ${key}` });
        }
      }
    }
    if (migrations.engine !== 'command' && migrations.path === undefined) {
      const params: MissingKeyParams = { missingKey: 'path', reason: `engine ${migrations.engine} reads migrations from it` };
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'missing path', params });
    }
    if (migrations.engine === 'command' && migrations.command === undefined) {
      const params: MissingKeyParams = { missingKey: 'command', reason: 'engine command runs it' };
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'missing command', params });
    }
  });

export const BACKUP_WHEN = ['destructive', 'always'] as const;
/** `/host/dir:/container/dir`, optionally `:ro` or `:rw`: absolute paths, no colon inside. */
const BIND_MOUNT = /^\/[^:]*:\/[^:]*(?::(?:ro|rw))?$/;

const backupSchema = z
  .strictObject({
    image: nonEmpty().describe('image of the one-off backup container (e.g. postgres:16 for pg_dump)'),
    command: argv().describe('argv list run in the container, e.g. [sh, -c, \'pg_dump "$DATABASE_URL" > /backups/$STAGECRAFT_BACKUP_NAME.sql\']; never run through a shell by stagecraft'),
    when: z.enum(BACKUP_WHEN).default('destructive').describe('destructive: before a run with a destructive migration; always: before every run that applies something'),
    timeout: duration().default('10m'),
    volumes: z
      .array(z.string().regex(BIND_MOUNT, 'must be "/host/dir:/container/dir" (absolute paths, optionally :ro or :rw)'))
      .default([])
      .describe('bind mounts on the primary host, so the dump lands there'),
  })
  .describe('a one-off container on the primary host that backs the database up before migrations; gets DATABASE_URL (secret, in its environment only)');

const databaseSchema = z.strictObject({
  url: nonEmpty().optional().describe('connection URL (required without targets); secret: redacted in every output'),
  targets: z
    .record(z.string().regex(TARGET_NAME, 'target names use lowercase letters, digits, _ and -'), nonEmpty().describe('connection URL of the target; secret: redacted in every output'))
    .optional()
    .describe('several instances sharing these migrations (tenants, shards): NAME: URL; written database/NAME on the command line'),
  migrations: migrationsSchema,
  backup: backupSchema.optional(),
})
  .superRefine((database, ctx) => {
    if (database.url === undefined && Object.keys(database.targets ?? {}).length === 0) {
      // No reason: a missing url reads as it did before targets existed (targets are the other way).
      const params: MissingKeyParams = { missingKey: 'url', reason: '' };
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'missing url', params });
    }
    if (database.targets !== undefined && Object.keys(database.targets).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'targets is empty: name at least one target, or remove targets' });
    }
  })
  // With targets and no url, the first target stands for the database where one URL is needed.
  .transform(({ url, ...database }) => ({ ...database, url: url ?? Object.values(database.targets ?? {})[0] ?? '' }));

const databasesSchema = z.record(
  z.string().regex(DATABASE_NAME, 'database names use lowercase letters, digits, _ and -'),
  databaseSchema,
);

/** Accessory names: lowercase letters, digits and `-` (the container is `<service>-<name>`). */
export const ACCESSORY_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** `[IP:]HOST:CONTAINER` port numbers. */
const PORT_MAPPING = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})$/;
/** `volume-name:/path` or `/host/path:/path`, optionally `:ro` or `:rw`. */
const ACCESSORY_VOLUME = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*|\/[^:]*):\/[^:]*(?::(?:ro|rw))?$/;

const accessorySchema = z
  .strictObject({
    image: nonEmpty()
      .regex(/^\S+$/, 'must not contain whitespace')
      .describe('image with its tag or digest, e.g. postgres:16; pulled with the registry login only when it is on registry.server'),
    host: nonEmpty().default(PRIMARY_ROLE).describe('address of one of the environment\'s hosts, or "primary"'),
    port: z
      .union([port(), z.string().regex(PORT_MAPPING, 'must be a port number or "HOST:CONTAINER" (optionally "IP:HOST:CONTAINER")')])
      .optional()
      .describe('published on the host: a number (the same on both sides) or "HOST:CONTAINER"'),
    env: envSchema.prefault({}),
    volumes: z
      .array(z.string().regex(ACCESSORY_VOLUME, 'must be "name:/container/path" (a Docker volume) or "/host/path:/container/path", optionally :ro or :rw'))
      .default([])
      .describe('named Docker volumes (kept across reboot) or bind mounts'),
    cmd: argv().optional().describe('the command (argv list) instead of the image\'s default'),
  })
  .superRefine((accessory, ctx) => {
    if (typeof accessory.port !== 'string') return;
    const match = PORT_MAPPING.exec(accessory.port);
    const numbers = [match?.[2], match?.[3]].map(Number);
    if (numbers.some((n) => n < 1 || n > 65535)) ctx.addIssue({ code: 'custom', path: ['port'], message: 'ports must be between 1 and 65535' });
  })
  .describe('a long-running service container next to the app (a database, a cache); deploy and rollback never touch it');

const accessoriesSchema = z
  .record(z.string().regex(ACCESSORY_NAME, 'accessory names use lowercase letters, digits and -'), accessorySchema)
  .describe('`stagecraft accessory boot|reboot|stop|remove|details|logs NAME` manages them');

/** Roles stagecraft gives its own containers: no app role may take these names. */
export const RESERVED_ROLES = ['primary', 'proxy', 'migrate', 'exec', 'accessory', 'backup'] as const;
export const WEB_ROLE = 'web';

const roleSchema = z
  .strictObject({
    cmd: argv().optional().describe("the container's command (default: the image's CMD)"),
    proxy: z.boolean().optional().describe('behind the proxy: true for web (the only role that may be), false for every other role'),
    env: z
      .record(z.string().regex(ENV_VAR_NAME, 'must be an environment variable name'), z.string())
      .optional()
      .describe("variables added to the app's environment for this role"),
    min_running: duration().default('5s').describe('a role without the proxy is healthy when its container still runs after this long…'),
    healthcheck: z
      .strictObject({
        cmd: argv().describe('…or when this command, run inside the container, exits 0'),
        interval: duration().default('1s'),
        timeout: duration().default('30s'),
      })
      .optional(),
  })
  .describe('a role: the same image with its own command and environment; hosts list their roles');

const rolesSchema = z
  .record(z.string().regex(NAME, 'role names use lowercase letters, digits, _ and -'), roleSchema)
  .describe('web runs behind the proxy; other roles (workers) run the same image without it. Containers: <service>-<role>-<version>');

const hostSchema = z.strictObject({
  address: nonEmpty().regex(/^\S+$/, 'must not contain whitespace').describe('IP or DNS name, or "local" for the local Docker engine'),
  roles: z
    .array(z.string().regex(NAME, 'role names use lowercase letters, digits, _ and -'))
    .min(1)
    .default(['web'])
    .describe('exactly one host per environment has role "primary" (runs migrations)'),
  port: port().optional(),
  user: nonEmpty().optional(),
});

const hostsSchema = z
  .array(hostSchema)
  .min(1)
  .check((ctx) => {
    // Skipped while a host is itself invalid: "no primary" next to a misspelt role is noise.
    if (ctx.issues.length > 0) return;
    const hosts = ctx.value;
    const primaries = hosts.filter((host) => host.roles.includes(PRIMARY_ROLE));
    if (primaries.length !== 1) {
      const found = primaries.length === 0 ? 'found none' : `found ${primaries.length} (${primaries.map((h) => h.address).join(', ')})`;
      ctx.issues.push({ code: 'custom', input: hosts, path: [], message: `exactly one host must have role "${PRIMARY_ROLE}", ${found}` });
    }
    const seen = new Map<string, number>();
    hosts.forEach((host, index) => {
      const first = seen.get(host.address);
      if (first === undefined) seen.set(host.address, index);
      else {
        const message = `duplicate host address "${host.address}" (also hosts[${first}])`;
        ctx.issues.push({ code: 'custom', input: host.address, path: [index, 'address'], message });
      }
    });
  });

/** `orchestration:` — one ordered plan across databases (see src/migrate/orchestrate/plan-file.ts); top level only. */
const orchestrationSchema = z
  .strictObject({
    plan: z
      .string()
      .min(1)
      .describe('the plan file, relative to stagecraft.yml: one <database>[/<target>]:<migration> per line, applied in that order across databases'),
  })
  .describe('an ordered plan across databases for migrate run, plan and validate');

/** `secrets:` — variables from commands (see secrets-command.ts); top level only. */
const secretsCommandSchema = z
  .strictObject({
    command: argv().optional().describe('a command that prints dotenv lines (KEY=value); run only when a variable is not found in the environment or .stagecraft/secrets'),
    keys: z
      .record(z.string().regex(ENV_VAR_NAME, 'must be an environment variable name'), argv())
      .optional()
      .describe('per variable: a command that prints its value'),
    timeout: duration().default('30s').describe('how long each command may take'),
  })
  .describe('variables from a password manager or secret store, never printed');

export type SecretsCommandConfig = z.output<typeof secretsCommandSchema>;

/** The `secrets:` section as written, when valid (it is read before interpolation; the file's validation reports a bad one). */
export function parseSecretsConfig(value: unknown): SecretsCommandConfig | undefined {
  const parsed = secretsCommandSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export const resolvedConfigSchema = z.strictObject({
  service: z.string().regex(NAME, 'must be lowercase letters, digits, _ and -, starting with a letter or digit'),
  image: z
    .string()
    .regex(IMAGE_REPOSITORY, 'must be an image repository without tag or digest, e.g. registry.example.com/acme/app (the version becomes the tag)'),
  registry: registrySchema.optional(),
  builder: builderSchema.prefault({}),
  ssh: sshSchema.prefault({}),
  env: envSchema.prefault({}),
  proxy: proxySchema.prefault({}),
  hooks: hooksSchema.prefault({}),
  retain: retainSchema.default(5),
  rollout: rolloutSchema.prefault({}),
  databases: databasesSchema.default({}),
  accessories: accessoriesSchema.default({}),
  roles: rolesSchema.default({}),
  hosts: hostsSchema,
  require_approval: z.boolean().default(false),
  priority: z.number().int().default(DEFAULT_ENVIRONMENT_PRIORITY),
  secrets: secretsCommandSchema.optional(),
  orchestration: orchestrationSchema.optional(),
}).superRefine((config, ctx) => {
  for (const issue of accessoryHostIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of roleIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
});

/**
 * Every role a host lists (besides primary) is web or a configured role; only web goes behind the
 * proxy (one proxy per service per host); no role takes a name stagecraft's own containers use.
 */
function roleIssues(config: { roles: Record<string, { proxy?: boolean | undefined }>; hosts: { address: string; roles: string[] }[] }): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const known = [WEB_ROLE, ...Object.keys(config.roles).filter((role) => role !== WEB_ROLE)];
  for (const [name, role] of Object.entries(config.roles)) {
    if ((RESERVED_ROLES as readonly string[]).includes(name)) {
      issues.push({ path: ['roles', name], message: `"${name}" is a name stagecraft uses itself (${RESERVED_ROLES.join(', ')}): choose another role name` });
    } else if (name === WEB_ROLE && role.proxy === false) {
      issues.push({ path: ['roles', name, 'proxy'], message: 'web is the role behind the proxy: name a role without the proxy differently (e.g. worker)' });
    } else if (name !== WEB_ROLE && role.proxy === true) {
      issues.push({ path: ['roles', name, 'proxy'], message: `only web goes behind the proxy (one proxy per service on a host); run "${name}" without it` });
    }
  }
  config.hosts.forEach((host, index) => {
    host.roles.forEach((role, at) => {
      // A malformed name is reported by the hosts schema already.
      if (role !== PRIMARY_ROLE && NAME.test(role) && !known.includes(role)) {
        issues.push({ path: ['hosts', index, 'roles', at], message: `unknown role "${role}" (roles: ${known.join(', ')}, plus primary); define it under roles:` });
      }
    });
  });
  return issues;
}

/** The app roles a host runs: those it lists, or web when it lists none but primary (a host always runs something). */
export function appRolesOf(host: { roles: readonly string[] }): string[] {
  const roles = host.roles.filter((role) => role !== PRIMARY_ROLE);
  return roles.length > 0 ? [...new Set(roles)] : [WEB_ROLE];
}

/**
 * An accessory's host must be one of the environment's (checked on the merged config: environments
 * have their own hosts), and its container name `<service>-<name>` must not be one stagecraft
 * gives the proxy or app containers.
 */
function accessoryHostIssues(config: {
  accessories: Record<string, { host: string }>;
  hosts: { address: string; roles: string[] }[];
}): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const addresses = config.hosts.map((host) => host.address);
  // App containers are <service>-<role>-<version>, one-offs <service>-migrate-… and <service>-exec-….
  const roles = new Set(['migrate', 'exec', ...config.hosts.flatMap((host) => host.roles)]);
  for (const [name, accessory] of Object.entries(config.accessories)) {
    if (accessory.host !== PRIMARY_ROLE && !addresses.includes(accessory.host)) {
      issues.push({ path: ['accessories', name, 'host'], message: `"${accessory.host}" is not a host of this environment (hosts: ${addresses.join(', ')}, or "${PRIMARY_ROLE}")` });
    }
    if (name === 'all') {
      issues.push({ path: ['accessories', name], message: 'accessory name "all" is reserved: `stagecraft accessory boot all` means every accessory' });
      continue;
    }
    const clash = name === 'proxy' ? name : [...roles].find((role) => name.startsWith(`${role}-`));
    if (clash !== undefined) {
      issues.push({ path: ['accessories', name], message: `accessory name "${name}" clashes with the names of stagecraft's own ${clash} containers: choose another` });
    }
  }
  return issues;
}

export type ResolvedConfig = z.output<typeof resolvedConfigSchema>;
export type HostConfig = ResolvedConfig['hosts'][number];
export type DatabaseConfig = ResolvedConfig['databases'][string];
export type AccessoryConfig = ResolvedConfig['accessories'][string];
export type RoleConfig = ResolvedConfig['roles'][string];
export type MigrationsConfig = DatabaseConfig['migrations'];
export type BackupConfig = NonNullable<DatabaseConfig['backup']>;
export type BackupWhen = (typeof BACKUP_WHEN)[number];
export type MigrationEngine = (typeof MIGRATION_ENGINES)[number];
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];
export type RolloutConfig = ResolvedConfig['rollout'];
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** Sections an environment may override; they merge over the top level (maps deep, lists replace). */
const overridableShape = {
  registry: deepPartial(registrySchema).optional(),
  builder: deepPartial(builderSchema).optional(),
  ssh: deepPartial(sshSchema).optional(),
  env: deepPartial(envSchema).optional(),
  proxy: deepPartial(proxySchema).optional(),
  retain: retainSchema.optional(),
  rollout: deepPartial(rolloutSchema).optional(),
  databases: deepPartial(databasesSchema).optional(),
  accessories: deepPartial(accessoriesSchema).optional(),
  roles: deepPartial(rolesSchema).optional(),
};

const environmentSchema = z.strictObject({
  hosts: hostsSchema,
  require_approval: z.boolean().optional().describe('ask for confirmation before deploying (default false)'),
  priority: z.number().int().optional().describe('migration fan-out order: targets of lower-priority environments go first (default 100)'),
  ...overridableShape,
});

/**
 * What users write. Mapping sections may be partial here because the environment may complete them;
 * completeness is checked on the resolved config.
 */
export const fileSchema = z
  .strictObject({
    service: resolvedConfigSchema.shape.service.describe('service name: names containers and releases'),
    image: resolvedConfigSchema.shape.image.describe('image repository without tag'),
    ...overridableShape,
    hooks: deepPartial(hooksSchema).optional(),
    secrets: secretsCommandSchema.optional(),
    orchestration: orchestrationSchema.optional(),
    environments: z
      .record(z.string().regex(NAME, 'environment names use lowercase letters, digits, _ and -'), environmentSchema)
      .refine((environments) => Object.keys(environments).length > 0, 'define at least one environment')
      .describe('deploy targets; each is merged over the top level'),
  })
  .meta({ title: 'stagecraft.yml', description: 'stagecraft deploy configuration' });

/**
 * Every mapping key optional, recursively, without cross-field checks (defaults are kept so the JSON
 * Schema shows them; this schema only validates, its output is never used). Lists are kept whole:
 * a list in an environment replaces the top-level one, so it must be complete on its own.
 */
function deepPartial(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodPrefault) {
    return withMeta(schema, deepPartial(schema.unwrap() as z.ZodType));
  }
  if (schema instanceof z.ZodDefault) {
    return withMeta(schema, deepPartial(schema.unwrap() as z.ZodType).default(schema.def.defaultValue as never));
  }
  if (schema instanceof z.ZodPipe) return withMeta(schema, deepPartial(schema.in as z.ZodType));
  if (schema instanceof z.ZodRecord) {
    return withMeta(schema, z.record(schema.keyType as z.ZodString, deepPartial(schema.valueType as z.ZodType)));
  }
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const partial = deepPartial(field);
      shape[key] = partial instanceof z.ZodDefault ? partial : partial.optional();
    }
    return withMeta(schema, z.strictObject(shape));
  }
  return schema;
}

function withMeta(from: z.ZodType, to: z.ZodType): z.ZodType {
  const meta = from.meta();
  return meta === undefined ? to : to.meta(meta);
}

/** Unwraps optional/default/pipe wrappers. */
function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The schema that validates the value at `configPath`, if the path is one the schema knows. */
export function schemaAt(schema: z.ZodType, configPath: readonly (string | number)[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const segment of configPath) {
    if (current === undefined) return undefined;
    const inner = unwrapSchema(current);
    if (inner instanceof z.ZodObject && typeof segment === 'string') current = (inner.shape as Record<string, z.ZodType>)[segment];
    else if (inner instanceof z.ZodRecord && typeof segment === 'string') current = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray && typeof segment === 'number') current = inner.element as z.ZodType;
    else return undefined;
  }
  return current === undefined ? undefined : unwrapSchema(current);
}

/** The keys allowed in the mapping at `configPath` (for did-you-mean suggestions). */
export function allowedKeysAt(schema: z.ZodType, configPath: readonly (string | number)[]): string[] {
  const target = schemaAt(schema, configPath);
  return target instanceof z.ZodObject ? Object.keys(target.shape as Record<string, unknown>) : [];
}
