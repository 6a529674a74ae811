import { describe, expect, it } from 'vitest';
import { SqlParseError, lineOf, splitStatements, transactionControl } from '../../../src/migrate/raw/sql-statements.js';

describe('SQL statements through the Postgres parser', () => {
  it('splits on real statement boundaries: not inside strings, dollar quotes or comments', async () => {
    const sql = [
      '-- stagecraft:no-transaction',
      "INSERT INTO notes (body) VALUES ('a; b');",
      'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;',
      '/* a; comment */ CREATE INDEX CONCURRENTLY notes_body ON notes (body);',
    ].join('\n');
    const statements = await splitStatements(sql);
    expect(statements.map((s) => s.kind)).toEqual(['InsertStmt', 'CreateFunctionStmt', 'IndexStmt']);
    expect(statements[0]!.text).toBe("INSERT INTO notes (body) VALUES ('a; b')");
    expect(statements[1]!.text).toContain('$$ SELECT 1; $$');
    expect(lineOf(sql, statements[2]!.offset)).toBe(4);
  });

  it('keeps offsets right after multi-byte characters', async () => {
    const sql = "SELECT 'héllo → wörld';\nSELECT 2;";
    const [, second] = await splitStatements(sql);
    expect(sql.slice(second!.offset, second!.offset + second!.text.length)).toBe('SELECT 2');
  });

  it('reports a syntax error with where it is', async () => {
    const error = await splitStatements('SELECT 1;\n\nSELEC 2;').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlParseError);
    expect((error as SqlParseError).message).toContain('syntax error at or near "SELEC"');
    expect(lineOf('SELECT 1;\n\nSELEC 2;', (error as SqlParseError).offset!)).toBe(3);
  });

  it('finds transaction control statements', async () => {
    const found = await transactionControl('BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;');
    expect(found.map((s) => s.text)).toEqual(['BEGIN', 'COMMIT']);
    expect(await transactionControl("CREATE TABLE begin_log (note text DEFAULT 'BEGIN; COMMIT;');")).toEqual([]);
  });
});
