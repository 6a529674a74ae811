/** Exit codes are part of the CLI contract; README documents them. */
export const ExitCode = {
  ok: 0,
  user: 1,
  refused: 2,
  build: 3,
  migration: 4,
  rollout: 5,
  internal: 10,
  /** Stopped by SIGINT/SIGTERM; the release is recorded as `interrupted`. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error a user can cause or act on: printed as its message alone, never with a stack. */
export class StagecraftError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: ExitCode = ExitCode.user, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

export class UserError extends StagecraftError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.user, options);
  }
}

export class RefusedError extends StagecraftError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.refused, options);
  }
}
