import { readFileSync } from 'node:fs';
import type { ToolRun } from '../../../src/migrate/engines/container-tool.js';

/** A tool run whose output is a captured (or transcribed) fixture file. */
export function fixtureRun(path: string, exitCode = 0, argv: string[] = ['tool']): ToolRun {
  const text = readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8');
  return { argv, exitCode, timedOut: false, stdout: text, stderr: '' };
}

export function textRun(stdout: string, exitCode = 0, stderr = '', argv: string[] = ['tool']): ToolRun {
  return { argv, exitCode, timedOut: false, stdout, stderr };
}
