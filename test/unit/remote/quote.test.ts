import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoteArgv } from '../../../src/remote/quote.js';

const NASTY = [
  "it's",
  'say "hi"',
  '$(touch /tmp/stagecraft-quote-pwned)',
  '`id`',
  'a; rm -rf /',
  'line one\nline two\n',
  '',
  '   ',
  'ünïcödé ✓ 日本',
  '$HOME ${PATH} \\ * ? [a] ~ # !',
  "'",
  "''",
  '-n',
  'tab\there',
  '|&<>(){}',
];

/** Runs the quoted line through a real shell and reads back each argument NUL-separated. */
function roundTrip(shell: string, args: string[]): string[] {
  const line = quoteArgv(['printf', '%s\\0', ...args]);
  const out = execFileSync(shell, ['-c', line]);
  const parts = out.toString('utf8').split('\0');
  parts.pop();
  return parts;
}

describe('quoteArgv', () => {
  for (const shell of ['/bin/dash', '/bin/bash']) {
    it(`every argument arrives verbatim through ${shell}`, () => {
      expect(roundTrip(shell, NASTY)).toEqual(NASTY);
    });
  }

  it('leaves plain words alone and quotes everything else', () => {
    expect(quoteArg('docker')).toBe('docker');
    expect(quoteArg('/var/lib/x-1.2_3:4')).toBe('/var/lib/x-1.2_3:4');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg('~')).toBe("'~'");
  });

  it('refuses NUL bytes and empty commands', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => quoteArgv([])).toThrow(/empty/);
  });

  it('does not run command substitutions: they arrive as text', () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'sc-quote-')), 'pwned');
    const args = [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`];
    const output = execFileSync('/bin/sh', ['-c', quoteArgv(['printf', '%s\\n', ...args])], { encoding: 'utf8' });
    expect(output).toBe(args.map((arg) => `${arg}\n`).join(''));
    expect(existsSync(marker)).toBe(false);
  });
});
