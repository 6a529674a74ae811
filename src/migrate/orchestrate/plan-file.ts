/**
 * `orchestration.plan`: one ordered plan across databases, one `<target>:<migration>` per line
 * (`#` starts a comment, blank lines are fine), e.g.
 *
 *     main:0001_publisher
 *     replica:0002_subscriber      # the subscriber needs the publication
 *     main/tenant_a:0003_some_table
 *
 * The target is a database, or `database/target` for one of its targets; for a sqitch database
 * the migration is a change name. Parsing and validation are pure and report `file:line`.
 */

export interface PlanFileEntry {
  line: number;
  /** As written: `main` or `main/tenant_a`. */
  target: string;
  database: string;
  /** The part after `/`, when given. */
  subtarget?: string;
  migration: string;
}

export interface PlanFileProblem {
  line: number;
  message: string;
}

const ENTRY = /^([a-z0-9][a-z0-9_-]*)(?:\/([A-Za-z0-9][A-Za-z0-9_.-]*))?:(\S+)$/;

export function parsePlanFile(text: string): { entries: PlanFileEntry[]; problems: PlanFileProblem[] } {
  const entries: PlanFileEntry[] = [];
  const problems: PlanFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/(^|\s)#.*$/, '').trim();
    if (content === '') return;
    const match = ENTRY.exec(content);
    if (!match) {
      problems.push({ line, message: `expected "<database>[/<target>]:<migration>", got "${content}"` });
      return;
    }
    const [, database, subtarget, migration] = match;
    entries.push({ line, target: subtarget ? `${database}/${subtarget}` : database!, database: database!, ...(subtarget ? { subtarget } : {}), migration: migration! });
  });
  return { entries, problems };
}

/** What the configuration and the migration files say exists, per database. */
export interface KnownDatabase {
  /** Targets named under `databases.X.targets` (none: the database is its own one target). */
  targets: string[];
  /** Migration ids in the order the engine applies them. */
  migrations: string[];
  /** Declared dependencies: id → ids it needs applied first. */
  dependsOn?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Every problem `migrate validate` reports for a plan file: an unknown target or migration, an
 * entry listed twice, an order that breaks a dependency or the engine's own order within a
 * target, and migrations of a listed database the plan leaves out.
 */
export function validatePlanFile(entries: readonly PlanFileEntry[], known: ReadonlyMap<string, KnownDatabase>): PlanFileProblem[] {
  const problems: PlanFileProblem[] = [];
  const seen = new Map<string, number>();
  const position = new Map<string, number>();
  const valid: PlanFileEntry[] = [];
  for (const entry of entries) {
    const database = known.get(entry.database);
    if (!database) {
      problems.push({ line: entry.line, message: `unknown database "${entry.database}" (databases: ${[...known.keys()].join(', ') || 'none'})` });
      continue;
    }
    if (entry.subtarget !== undefined && !database.targets.includes(entry.subtarget)) {
      const named = database.targets.length ? `its targets: ${database.targets.join(', ')}` : 'it names no targets';
      problems.push({ line: entry.line, message: `unknown target "${entry.target}" (${named})` });
      continue;
    }
    if (!database.migrations.includes(entry.migration)) {
      problems.push({ line: entry.line, message: `unknown migration "${entry.migration}" in ${entry.database}` });
      continue;
    }
    const key = `${entry.target}:${entry.migration}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ line: entry.line, message: `${key} is listed twice (first on line ${first})` });
      continue;
    }
    seen.set(key, entry.line);
    position.set(key, valid.length);
    valid.push(entry);
  }
  for (const entry of valid) {
    const database = known.get(entry.database)!;
    const here = position.get(`${entry.target}:${entry.migration}`)!;
    for (const needed of database.dependsOn?.get(entry.migration) ?? []) {
      const at = position.get(`${entry.target}:${needed}`);
      if (at !== undefined && at > here) {
        problems.push({ line: entry.line, message: `${entry.target}:${entry.migration} depends on ${needed}, listed later (line ${valid[at]!.line})` });
      }
    }
    // Without a declared graph the engine's own order is the dependency order.
    if (database.dependsOn !== undefined) continue;
    const order = database.migrations.indexOf(entry.migration);
    const earlier = valid.find((other, index) => index > here && other.target === entry.target && database.migrations.indexOf(other.migration) < order);
    if (earlier) {
      problems.push({ line: entry.line, message: `${entry.target}:${entry.migration} comes before ${earlier.migration} in ${entry.database}'s own order, but is listed first (${earlier.migration} on line ${earlier.line})` });
    }
  }
  const listed = new Map<string, Set<string>>();
  for (const entry of valid) listed.set(entry.database, (listed.get(entry.database) ?? new Set<string>()).add(entry.migration));
  for (const [name, migrations] of listed) {
    const missing = known.get(name)!.migrations.filter((id) => !migrations.has(id));
    if (missing.length > 0) {
      const line = valid.find((entry) => entry.database === name)!.line;
      problems.push({ line, message: `${name}: the plan leaves out ${missing.join(', ')} (every migration of a listed database must be in the plan)` });
    }
  }
  return problems.sort((a, b) => a.line - b.line);
}

/** `migrations/orchestration.plan:3: unknown migration …`, one line per problem. */
export function formatPlanFileProblems(file: string, problems: readonly PlanFileProblem[]): string[] {
  return problems.map((problem) => `${file}:${problem.line}: ${problem.message}`);
}
