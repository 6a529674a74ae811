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
      { line: 4, message: 'invalid variable name "2FAST" (letters, digits and _, not starting with a digit)' },
      { line: 5, message: 'OPEN: unterminated double quote' },
      { line: 6, message: 'SQ: unterminated single quote' },
      { line: 7, message: 'TRAIL: unexpected text after the closing quote: extra' },
    ]);
    expect(Object.fromEntries(values)).toEqual({ OK: '1', ALSO_OK: '2' });
  });
});
