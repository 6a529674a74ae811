import { describe, expect, it } from 'vitest';
import { lint } from './helpers.js';

const summary = async (sql: string) => {
  const result = await lint(sql);
  return {
    findings: result.findings.map((f) => `${f.line} ${f.rule}`),
    accepted: result.accepted.map((f) => `${f.line} ${f.rule}: ${f.reason}`),
    problems: result.problems,
  };
};

describe('-- stagecraft:allow RULE reason', () => {
  it('on the line before a statement accepts that statement only, with its reason', async () => {
    const sql = ['-- stagecraft:allow drop-table replaced by accounts_v2 in release 41', 'DROP TABLE accounts;', 'DROP TABLE users;'].join('\n');
    expect(await summary(sql)).toEqual({ findings: ['3 drop-table'], accepted: ['2 drop-table: replaced by accounts_v2 in release 41'], problems: [] });
  });

  it('several allow lines and other comments may stand above the statement', async () => {
    const sql = [
      'CREATE TABLE t (a int);',
      '',
      '-- stagecraft:allow drop-column nobody reads legacy since v3',
      '-- the column was write-only',
      '-- stagecraft:allow change-column-type ten rows, checked in production',
      'ALTER TABLE accounts DROP COLUMN legacy, ALTER COLUMN id TYPE bigint;',
    ].join('\n');
    expect(await summary(sql)).toEqual({
      findings: [],
      accepted: ['6 drop-column: nobody reads legacy since v3', '6 change-column-type: ten rows, checked in production'],
      problems: [],
    });
  });

  it('at the top of the file, followed by an empty line, accepts the rule for the whole file', async () => {
    const sql = ['-- stagecraft:no-transaction', '-- stagecraft:allow create-index the tables are tiny lookup tables', '', 'CREATE INDEX a_x ON a (x);', 'CREATE INDEX b_x ON b (x);', 'DROP TABLE c;'].join('\n');
    expect(await summary(sql)).toEqual({
      findings: ['6 drop-table'],
      accepted: ['4 create-index: the tables are tiny lookup tables', '5 create-index: the tables are tiny lookup tables'],
      problems: [],
    });
  });

  it('directly above the first statement, it is that statement\'s, not the file\'s', async () => {
    const sql = ['-- stagecraft:allow create-index lookup table', 'CREATE INDEX a_x ON a (x);', 'CREATE INDEX b_x ON b (x);'].join('\n');
    expect((await summary(sql)).findings).toEqual(['3 create-index']);
  });

  it('a wrong rule id accepts nothing and is a problem (with the closest id)', async () => {
    const sql = ['-- stagecraft:allow drop-tabel obsolete', 'DROP TABLE accounts;'].join('\n');
    expect(await summary(sql)).toEqual({
      findings: ['2 drop-table'],
      accepted: [],
      problems: ['m.sql:1: -- stagecraft:allow RULE reason: unknown rule drop-tabel (did you mean drop-table?)'],
    });
  });

  it('another rule\'s allow does not accept the finding', async () => {
    const sql = ['-- stagecraft:allow drop-column obsolete', 'DROP TABLE accounts;'].join('\n');
    expect(await summary(sql)).toEqual({ findings: ['2 drop-table'], accepted: [], problems: [] });
  });

  it('a reason is required', async () => {
    const sql = ['-- stagecraft:allow drop-table', 'DROP TABLE accounts;'].join('\n');
    expect(await summary(sql)).toEqual({
      findings: ['2 drop-table'],
      accepted: [],
      problems: ['m.sql:1: -- stagecraft:allow RULE reason: drop-table needs a reason (why it is safe here); the release records it'],
    });
  });

  it('an allow with no rule is a problem', async () => {
    expect((await summary('-- stagecraft:allow\nDROP TABLE a;')).problems).toEqual(['m.sql:1: -- stagecraft:allow RULE reason: the annotation names no rule']);
  });

  it('an allow that is not directly above a statement is a problem, not a silent no-op', async () => {
    const trailing = await summary('DROP TABLE a; -- stagecraft:allow drop-table gone\nDROP TABLE b;');
    expect(trailing.findings).toEqual(['1 drop-table', '2 drop-table']);
    expect(trailing.problems).toEqual([expect.stringMatching(/^m\.sql:1: -- stagecraft:allow drop-table is not directly above a statement/)]);
    const detached = await summary('DROP TABLE a;\n-- stagecraft:allow drop-table gone\n\nDROP TABLE b;');
    expect(detached.findings).toEqual(['1 drop-table', '4 drop-table']);
    expect(detached.problems).toHaveLength(1);
    const atTheEnd = await summary('DROP TABLE a;\n-- stagecraft:allow drop-table gone\n');
    expect(atTheEnd.problems).toHaveLength(1);
  });

  it('comments inside statements and strings are not annotations', async () => {
    const sql = ["INSERT INTO notes (body) VALUES ('-- stagecraft:allow drop-table not a comment');", 'DROP TABLE a;'].join('\n');
    expect(await summary(sql)).toEqual({ findings: ['2 drop-table'], accepted: [], problems: [] });
  });

  it('stagecraft:allowed or a block comment are not annotations', async () => {
    const sql = ['-- stagecraft:allowed drop-table x', '/* stagecraft:allow drop-table x */', 'DROP TABLE a;'].join('\n');
    expect(await summary(sql)).toEqual({ findings: ['3 drop-table'], accepted: [], problems: [] });
  });

  it('an annotation after a multi-line block comment still counts as directly above', async () => {
    const sql = ['SELECT 1;', '/* a note', '   over two lines */', '-- stagecraft:allow truncate staging data only', 'TRUNCATE imports;'].join('\n');
    expect((await summary(sql)).accepted).toEqual(['5 truncate: staging data only']);
  });
});
