import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../../src/config/dotenv.js';

describe('parseDotenv', () => {
  it('parses the supported syntax', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'SPACED = padded value   ',
      'export EXPORTED=yes',
      'DOUBLE="two words # not a comment"',
      'ESCAPES="a\\nb\\t\\"c\\" \\\\ \\$"',
      "SINGLE='raw \\n $HOME'",
      'INLINE=value # trailing comment',
      'HASH=abc#def',
      'EMPTY=',
      'EMPTY_QUOTED=""',
      'URL=postgres://u:p@h:5432/db?sslmode=require',
      'WINDOWS=crlf\r',
      'PLAIN=overridden',
    ].join('\n');
    const { values, problems } = parseDotenv(text);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(values)).toEqual({
      PLAIN: 'overridden',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      DOUBLE: 'two words # not a comment',
      ESCAPES: 'a\nb\t"c" \\ $',
      SINGLE: 'raw \\n $HOME',
      INLINE: 'value',
      HASH: 'abc#def',
      EMPTY: '',
      EMPTY_QUOTED: '',
      URL: 'postgres://u:p@h:5432/db?sslmode=require',
      WINDOWS: 'crlf',
    });
  });

  it('reports malformed lines with their line numbers and keeps the good ones', () => {
    const text = ['OK=1', 'no equals sign', '=value', '2FAST=x', 'OPEN="abc', "SQ='abc", 'TRAIL="abc" extra', 'ALSO_OK=2'].join('\n');
    const { values, problems } = parseDotenv(text);
    expect(problems).toEqual([
      { line: 2, message: 'expected KEY=value' },
      { line: 3, message: 'missing variable name before "="' },
      { line: 4, message: 'invalid variable name before "=" (letters, digits and _, not starting with a digit)' },
      { line: 5, message: 'OPEN: unterminated double quote (values are one line: write line breaks as \\n inside double quotes)' },
      { line: 6, message: "SQ: unterminated single quote (values are one line: write line breaks as \\n inside double quotes)" },
      { line: 7, message: 'TRAIL: unexpected text after the closing quote' },
    ]);
    expect(Object.fromEntries(values)).toEqual({ OK: '1', ALSO_OK: '2' });
  });

  it('never quotes a value, or text that may be part of one, in a problem', () => {
    const text = [
      'API_KEY=fine',
      'SSH_KEY="-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==',
      'AAAAC3NzaC1lZDI1NTE5AAAAIDxQ2secretMaterial=',
      '-----END OPENSSH PRIVATE KEY-----"',
      'TOKEN="hunter2" trailing-secret-part',
      'NEXT=ok',
      '2c2VjcmV0LWZyYWdtZW50+=',
    ].join('\n');
    const { values, problems } = parseDotenv(text);
    expect(problems).toEqual([
      { line: 2, message: 'SSH_KEY: unterminated double quote (values are one line: write line breaks as \\n inside double quotes)' },
      { line: 5, message: 'expected KEY=value' },
      { line: 6, message: 'TOKEN: unexpected text after the closing quote' },
      { line: 8, message: 'invalid variable name before "=" (letters, digits and _, not starting with a digit)' },
    ]);
    const shown = problems.map((problem) => problem.message).join('\n');
    for (const fragment of ['BEGIN', 'b3Bl', 'AAAA', 'secretMaterial', 'END', 'hunter2', 'trailing', 'c2Vj', 'ZW50']) expect(shown).not.toContain(fragment);
    // Base64 lines such as `b3Bl...=` read as assignments of names nobody uses; the value is never shown.
    expect(values.get('API_KEY')).toBe('fine');
    expect(values.get('NEXT')).toBe('ok');
  });
});
