import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSqitchConf, sqitchLayout } from '../../../src/migrate/engines/sqitch-conf.js';
import { SqitchPlanError, changeSpec, parseDependency, parseSqitchPlan, resolveDependency, withKeys } from '../../../src/migrate/engines/sqitch-plan.js';
import { sha1Of, sqitchPlanState } from '../../../src/migrate/engines/sqitch-state.js';
import type { SqitchDeployedRow } from '../../../src/migrate/engines/sqitch-state.js';
import { entryNamed, revertTo, toSpec } from '../../../src/migrate/engines/sqitch.js';

const TUTORIAL = readFileSync(new URL('./fixtures/sqitch/tutorial.plan', import.meta.url), 'utf8');
const layout = sqitchLayout(parseSqitchConf('[core]\n\tengine = pg\n'));
const REWORKED_SCRIPT = (file: string) => file === 'deploy/users@v1.0.sql';
const tutorial = () => withKeys(parseSqitchPlan(TUTORIAL), 'sql', (file) => REWORKED_SCRIPT(`deploy/${file}`));

function error(text: string): { line: number; message: string } {
  try {
    parseSqitchPlan(text);
  } catch (caught) {
    if (caught instanceof SqitchPlanError) return { line: caught.line, message: caught.message };
    throw caught;
  }
  throw new Error('parsed');
}

describe('sqitch.plan', () => {
  it('keeps every appearance of a reworked change as its own entry, with sqitch\'s change ids', () => {
    const plan = tutorial();
    expect(plan.project).toBe('flipr');
    // The ids `sqitch plan --oneline` printed for this file (sqitch 1.3.1): fd921a, 98688a, f7627c, 5b7014.
    expect(plan.changes.map((c) => [c.key, c.changeId.slice(0, 6), c.tags, c.reworkTags])).toEqual([
      ['appschema', 'fd921a', [], []],
      ['users@v1.0', '98688a', ['v1.0'], ['v1.0']],
      ['flips', 'f7627c', [], []],
      ['users', '5b7014', ['v2.0'], []],
    ]);
    expect(plan.changes[0]!.changeId).toBe('fd921a6af107927a0d64a0b6d8cbecae7e1b046f');
    expect(plan.changes[1]!.changeId).toBe('98688ac4ac2505521fc10030251d17b332a29795');
    expect(plan.tags).toEqual([
      { name: 'v1.0', line: 6, change: 1 },
      { name: 'v2.0', line: 10, change: 3 },
    ]);
    expect(plan.changes[3]!.requires).toEqual([{ conflicts: false, change: 'users', tag: 'v1.0' }]);
  });

  it('names changes for sqitch without ambiguity: name@HEAD for the newest appearance, name@tag for older ones', () => {
    const plan = tutorial();
    expect(plan.changes.map(changeSpec)).toEqual(['appschema@HEAD', 'users@v1.0', 'flips@HEAD', 'users@HEAD']);
    expect(toSpec(plan, 'users')).toBe('users@HEAD');
    expect(toSpec(plan, 'users@v1.0')).toBe('users@v1.0');
    expect(toSpec(plan, '@v1.0')).toBe('@v1.0');
    expect(() => toSpec(plan, '@v9')).toThrow(/no such tag.*@v1\.0, @v2\.0/);
    expect(() => toSpec(plan, 'nope')).toThrow(/no such change.*users@v1\.0/);
  });

  it('a change reworked twice: each older appearance keyed by its first rework tag (its script name)', () => {
    const text = [
      '%project=p',
      '',
      'a 2026-01-01T00:00:00Z A <a@x>',
      '@t1 2026-01-01T00:00:00Z A <a@x>',
      'b 2026-01-01T00:00:00Z A <a@x>',
      '@t2 2026-01-01T00:00:00Z A <a@x>',
      'a [a@t1] 2026-01-01T00:00:00Z A <a@x>',
      '@t3 2026-01-01T00:00:00Z A <a@x>',
      'a [a@t3] 2026-01-01T00:00:00Z A <a@x>',
    ].join('\n');
    const plan = withKeys(parseSqitchPlan(text), 'sql', () => false);
    expect(plan.changes.map((c) => [c.key, c.reworkTags])).toEqual([
      ['a@t2', ['t2', 't1']],
      ['b', []],
      ['a@t3', ['t3']],
      ['a', []],
    ]);
    // A script that exists for a later rework tag wins, as sqitch picks the first one found.
    expect(withKeys(parseSqitchPlan(text), 'sql', (file) => file === 'a@t1.sql').changes[0]!.key).toBe('a@t1');
    expect(resolveDependency(plan, { conflicts: false, change: 'a', tag: 't1' }, 2)).toBe('a@t2');
    expect(resolveDependency(plan, { conflicts: false, change: 'a' }, 3)).toBe('a@t3');
    expect(resolveDependency(plan, { conflicts: false, tag: 't2' }, 3)).toBe('b');
    expect(resolveDependency(plan, { conflicts: false, project: 'other', change: 'a' }, 3)).toBeUndefined();
  });

  it('reads dependencies, conflicts, other projects, notes with escapes, and a uri pragma into the id', () => {
    const text = '%syntax-version=1.0.0\n%project=flipr\n%uri=https://example.com/flipr/\n\nx 2026-01-02T03:04:05Z Ann Lee <ann@x> # first\ny [x !z other:w x@HEAD] 2026-01-02T03:04:06Z Ann Lee <ann@x> # two\\nlines\n';
    const plan = parseSqitchPlan(text);
    expect(plan.uri).toBe('https://example.com/flipr/');
    expect(plan.changes[1]).toMatchObject({
      name: 'y',
      requires: [{ conflicts: false, change: 'x' }, { conflicts: false, project: 'other', change: 'w' }, { conflicts: false, change: 'x', tag: 'HEAD' }],
      conflicts: [{ conflicts: true, change: 'z' }],
      planner: 'Ann Lee',
      email: 'ann@x',
      note: 'two\nlines',
    });
    expect(parseDependency('!p:c@t')).toEqual({ conflicts: true, project: 'p', change: 'c', tag: 't' });
    expect(parseDependency('a b')).toBeUndefined();
  });

  it('refuses what sqitch refuses, naming the line', () => {
    expect(error('%project=p\n\nx\n')).toEqual({ line: 3, message: 'Missing timestamp and planner name and email' });
    expect(error('%project=p\n\nx 2026-01-01T00:00:00Z\n')).toEqual({ line: 3, message: 'Missing planner name and email' });
    expect(error('%project=p\n\n@t 2026-01-01T00:00:00Z A <a@x>\n')).toEqual({ line: 3, message: 'Tag "t" declared without a preceding change' });
    expect(error('%project=p\n\nx 2026-01-01T00:00:00Z A <a@x>\nx 2026-01-01T00:00:00Z A <a@x>\n')).toEqual({ line: 4, message: 'Change "x" duplicates earlier declaration on line 3' });
    expect(error('%syntax-version=1.0.0\n\nx 2026-01-01T00:00:00Z A <a@x>\n').message).toBe('Missing %project pragma');
    expect(error('%project=p\nx 2026-01-01T00:00:00Z A <a@x>\n')).toEqual({ line: 2, message: 'Invalid pragma; a blank line must come between pragmas and changes' });
    expect(error('%project=p\n\nx [a a] 2026-01-01T00:00:00Z A <a@x>\n')).toEqual({ line: 3, message: 'Duplicate dependency "a"' });
  });
});

describe('sqitch.conf', () => {
  it('engine.pg.* before core.*, named targets ignored (stagecraft gives the target as a URI)', () => {
    const conf = parseSqitchConf('[core]\n\tengine = pg\n\ttop_dir = sql # the scripts\n[engine "pg"]\n\ttarget = dev\n\tregistry = meta\n[target "dev"]\n\turi = db:pg:dev\n\tregistry = other\n');
    expect(sqitchLayout(conf)).toEqual({ engine: 'pg', planFile: 'sql/sqitch.plan', deployDir: 'sql/deploy', reworkedDeployDir: 'sql/deploy', extension: 'sql', registry: 'meta' });
    expect(sqitchLayout(parseSqitchConf(''))).toMatchObject({ planFile: 'sqitch.plan', deployDir: 'deploy', registry: 'sqitch' });
  });
});

describe('sqitch state from the plan, the registry and the scripts', () => {
  const scripts = new Map([
    ['deploy/appschema.sql', Buffer.from('create schema flipr;\n')],
    ['deploy/users@v1.0.sql', Buffer.from('create table flipr.users ();\n')],
    ['deploy/flips.sql', Buffer.from('create table flipr.flips ();\n')],
    ['deploy/users.sql', Buffer.from('alter table flipr.users add bio text;\n')],
  ]);
  const row = (index: number, hash?: string): SqitchDeployedRow => {
    const change = tutorial().changes[index]!;
    const file = index === 1 ? 'deploy/users@v1.0.sql' : `deploy/${change.name}.sql`;
    return { change_id: change.changeId, change: change.name, script_hash: hash ?? sha1Of(scripts.get(file)!), committed_at: `2026-12-02 08:1${index}:00+00` };
  };

  it('a fresh database: every entry pending, the registry not there', () => {
    const state = sqitchPlanState(tutorial(), layout, scripts, undefined);
    expect(state.migrations.map((m) => [m.id, m.state, m.file, m.tags ?? [], m.depends_on ?? []])).toEqual([
      ['appschema', 'pending', 'deploy/appschema.sql', [], []],
      ['users@v1.0', 'pending', 'deploy/users@v1.0.sql', ['@v1.0'], ['appschema']],
      ['flips', 'pending', 'deploy/flips.sql', [], ['users@v1.0']],
      ['users', 'pending', 'deploy/users.sql', ['@v2.0'], ['users@v1.0']],
    ]);
    expect(state.applied_count).toBe(0);
    expect(state.notes).toEqual(['sqitch.changes does not exist yet: nothing deployed']);
  });

  it('deployed changes are applied by change id; a script whose SHA-1 differs from script_hash is drifted', () => {
    const state = sqitchPlanState(tutorial(), layout, scripts, [row(0), row(1, 'f'.repeat(40)), row(2)]);
    expect(state.migrations.map((m) => [m.id, m.state])).toEqual([
      ['appschema', 'applied'],
      ['users@v1.0', 'drifted'],
      ['flips', 'applied'],
      ['users', 'pending'],
    ]);
    expect(state.migrations[1]!.error).toMatch(/deploy\/users@v1\.0\.sql changed after it was deployed/);
    expect(state.applied_count).toBe(3);
  });

  it('a deployed change the plan no longer has is listed with a note', () => {
    const orphan = { change_id: 'a'.repeat(40), change: 'gone', script_hash: null, committed_at: '2026-12-02 09:00:00+00' };
    const state = sqitchPlanState(tutorial(), layout, scripts, [row(0), orphan]);
    expect(state.migrations.at(-1)).toMatchObject({ id: 'gone', state: 'applied', missing_file: true });
    expect(state.notes).toEqual(['deployed but not in sqitch.plan: gone (aaaaaaa) (sqitch refuses to deploy until the plan has them again)']);
  });
});

describe('sqitch rollback and output names', () => {
  const plan = tutorial();
  const applied = sqitchPlanState(plan, layout, new Map(), plan.changes.map((c, i) => ({ change_id: c.changeId, change: c.name, script_hash: null, committed_at: `2026-12-02 08:1${i}:00+00` }))).migrations;

  it('reverts to the change before the oldest one chosen, by change id; all of them without --to', () => {
    expect(revertTo(applied, ['users', 'flips'], plan)).toEqual({ to: { id: 'users@v1.0', changeId: plan.changes[1]!.changeId } });
    expect(revertTo(applied, ['users', 'flips', 'users@v1.0', 'appschema'], plan)).toEqual({});
  });

  it('refuses a set sqitch cannot revert alone (not the newest changes), and ids not deployed', () => {
    expect(revertTo(applied, ['flips'], plan)).toEqual({ refused: 'sqitch reverts the newest changes first: reverting flips also reverts users (choose them too, or use --steps)' });
    expect(revertTo(applied.slice(0, 2), ['flips'], plan)).toEqual({ refused: 'flips is not deployed' });
  });

  it('maps sqitch\'s "name @tag" back to the entry', () => {
    expect(entryNamed(plan, 'users @v1.0')?.key).toBe('users@v1.0');
    expect(entryNamed(plan, 'users @v2.0')?.key).toBe('users');
    expect(entryNamed(plan, 'flips')?.key).toBe('flips');
  });
});
