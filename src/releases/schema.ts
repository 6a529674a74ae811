/**
 * The on-disk format of `.stagecraft/releases.json`:
 *
 *     {
 *       "version": 1,
 *       "releases": [ <Release>, <Release>, ... ]   // in the order they were appended
 *     }
 *
 * `version` is the format version, bumped on any change an older stagecraft could not read.
 * A `Release` is described in `record.ts`; unknown keys are rejected rather than dropped,
 * so rewriting the file can never silently lose data. A missing file means "no releases".
 */
import { z } from 'zod';
import { UserError } from '../errors.js';
import {
  BACKUP_STATUSES,
  HOST_STATUSES,
  MIGRATION_STATUSES,
  MIGRATION_STEP_OUTCOMES,
  PHASE_STATUSES,
  RELEASE_KINDS,
  RELEASE_STATUSES,
  type Release,
} from './record.js';

const RELEASES_FILE_FORMAT_VERSION = 1;

const isoTimestamp = z.iso.datetime({ offset: true });
const nonEmpty = z.string().min(1);

const phaseSchema = z.strictObject({
  status: z.enum(PHASE_STATUSES),
  started_at: isoTimestamp.optional(),
  finished_at: isoTimestamp.optional(),
  duration_ms: z.number().int().nonnegative().optional(),
  error: z.string().optional(),
});

const hostSchema = z.strictObject({
  address: nonEmpty,
  status: z.enum(HOST_STATUSES),
  container: z.string().optional(),
  error: z.string().optional(),
});

const migrationStepSchema = z.strictObject({
  id: nonEmpty,
  outcome: z.enum(MIGRATION_STEP_OUTCOMES),
  duration_ms: z.number().int().nonnegative().optional(),
  description: z.string().optional(),
  affects_tables: z.array(z.string()).optional(),
  risk_level: z.string().optional(),
  estimated_duration: z.string().optional(),
  risk: z.array(z.strictObject({ rule: nonEmpty, class: nonEmpty })).optional(),
  accepted: z.array(z.strictObject({ rule: nonEmpty, line: z.number().int().positive(), reason: z.string() })).optional(),
});

const migrationSchema = z.strictObject({
  database: nonEmpty,
  engine: nonEmpty,
  strategy: nonEmpty,
  status: z.enum(MIGRATION_STATUSES),
  applied: z.array(z.string()),
  steps: z.array(migrationStepSchema).optional(),
  duration_ms: z.number().int().nonnegative().optional(),
  log_tail: z.array(z.string()),
  error: z.string().optional(),
});

const backupSchema = z.strictObject({
  database: nonEmpty,
  status: z.enum(BACKUP_STATUSES),
  reason: z.string(),
  name: z.string().optional(),
  duration_ms: z.number().int().nonnegative(),
  log_tail: z.array(z.string()),
  error: z.string().optional(),
});

const releaseSchema: z.ZodType<Release> = z.strictObject({
  id: z.string().regex(/^rel-\d{8}-\d{9}(-\d{3})?$/, 'expected an id like "rel-20261122-093012345"'),
  environment: nonEmpty,
  service: nonEmpty,
  version: nonEmpty,
  image: z.strictObject({ ref: nonEmpty, digest: z.string().optional() }),
  commit: z.string().optional(),
  actor: z.string(),
  started_at: isoTimestamp,
  finished_at: isoTimestamp.optional(),
  status: z.enum(RELEASE_STATUSES),
  kind: z.enum(RELEASE_KINDS),
  phases: z.strictObject({
    build: phaseSchema,
    push: phaseSchema,
    migrate_pre: phaseSchema,
    rollout: phaseSchema,
    migrate_post: phaseSchema,
    finalize: phaseSchema,
  }),
  hosts: z.array(hostSchema),
  migrations: z.array(migrationSchema),
  backups: z.array(backupSchema).optional(),
  previous_id: z.string().optional(),
  rollback_of: z.string().optional(),
});

const releasesFileSchema = z.strictObject({
  version: z.literal(RELEASES_FILE_FORMAT_VERSION),
  releases: z.array(releaseSchema),
});

const REFUSAL = 'fix or move it aside; stagecraft will not overwrite it';

/**
 * Parses the file's text into releases (file order). Any defect throws a `UserError`
 * (exit 1) naming the file and the place; callers must then leave the file untouched.
 */
export function parseReleasesFile(text: string, displayPath: string): Release[] {
  if (text.trim() === '') {
    throw new UserError(`${displayPath}: file is empty — ${REFUSAL}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const where = jsonErrorLocation(error, text);
    const at = where ? ` at line ${where.line} column ${where.column}` : '';
    throw new UserError(`${displayPath}: not valid JSON${at} — ${REFUSAL}`, { cause: error });
  }

  const version = isRecord(data) ? data['version'] : undefined;
  if (typeof version === 'number' && version > RELEASES_FILE_FORMAT_VERSION) {
    throw new UserError(
      `${displayPath}: format version ${version} is newer than this stagecraft reads (${RELEASES_FILE_FORMAT_VERSION}) — upgrade stagecraft; it will not overwrite the file`,
    );
  }

  const result = releasesFileSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue ? describePath(issue.path, data) : '(top level)';
    const problem = issue ? issue.message : 'wrong shape';
    throw new UserError(`${displayPath}: ${field}: ${problem} — ${REFUSAL}`);
  }
  return result.data.releases;
}

export function serializeReleasesFile(releases: readonly Release[]): string {
  return `${JSON.stringify({ version: RELEASES_FILE_FORMAT_VERSION, releases }, null, 2)}\n`;
}

/** One record from elsewhere (the primary host's shared history): the record, or why it is not one. */
export function parseReleaseRecord(data: unknown): { release: Release } | { invalid: string } {
  const result = releaseSchema.safeParse(data);
  if (result.success) return { release: result.data };
  const issue = result.error.issues[0];
  return { invalid: issue ? `${formatPath(issue.path) || '(record)'}: ${issue.message}` : 'wrong shape' };
}

/** Validates one record before it is written; a failure here is a bug in the caller. */
export function invalidRecordReason(release: Release): string | undefined {
  const result = releaseSchema.safeParse(release);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  return issue ? `${formatPath(issue.path) || '(record)'}: ${issue.message}` : 'wrong shape';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `releases[3] (rel-…).phases.rollout.status`: the record id helps find it in a long file. */
function describePath(path: readonly PropertyKey[], data: unknown): string {
  if (path.length === 0) return '(top level)';
  const [first, index] = path;
  if (first === 'releases' && typeof index === 'number' && isRecord(data) && Array.isArray(data['releases'])) {
    const record: unknown = data['releases'][index];
    const id = isRecord(record) && typeof record['id'] === 'string' ? ` (${record['id']})` : '';
    const rest = formatPath(path.slice(2));
    return `releases[${index}]${id}${rest ? `.${rest}` : ''}`;
  }
  return formatPath(path);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Line and column (1-based) of a JSON.parse failure. V8 reports "at position N" (Node 20)
 * and, from Node 22, also "(line L column C)"; "Unexpected end of JSON input" means the end.
 */
export function jsonErrorLocation(error: unknown, text: string): { line: number; column: number } | undefined {
  const message = error instanceof Error ? error.message : '';
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message);
  if (position) return offsetToLineColumn(text, Number(position[1]));
  if (/unexpected end/i.test(message)) return offsetToLineColumn(text, text.length);
  return undefined;
}

function offsetToLineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
