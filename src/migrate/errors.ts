import { ExitCode, RefusedError, StagecraftError } from '../errors.js';

/** A migration failed or must not run (drift, a failed statement, a tool error): exit 4. */
export class MigrationError extends StagecraftError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.migration, options);
  }
}

/** Applied migrations whose files changed since: running on top of them is refused. */
export class DriftError extends MigrationError {
  constructor(
    readonly database: string,
    readonly files: readonly string[],
  ) {
    super(`${database}: drift: ${files.join(', ')} changed after being applied (checksum differs from stagecraft_migrations)`, {
      hint: 'restore the applied file(s) as they were and put the change in a new migration',
    });
  }
}

/** A migration was left running by a process that died: runs refuse until `migrate resolve`. */
export class DirtyError extends MigrationError {
  constructor(
    readonly environment: string,
    readonly database: string,
    readonly ids: readonly string[],
  ) {
    super(`${database}: dirty: ${ids.join(', ')} left "running" by a process that died; whether it applied is unknown, so nothing runs`, {
      hint: `check the database by hand, then record what you found: ${ids
        .map((id) => `\`stagecraft migrate resolve --env ${environment} --database ${database} ${id} --applied\` (or --rolled-back)`)
        .join('; ')}`,
    });
  }
}

/** Another session holds the migration advisory lock beyond --lock-timeout: exit 2. */
export class MigrationLockTimeout extends RefusedError {}
