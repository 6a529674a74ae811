/**
 * The shared release history on the primary host: `~/.stagecraft/releases/<service>.jsonl`,
 * read with one command and appended through stdin (a record can be larger than an argument may
 * be). The file name comes from the service name, which the config schema restricts to
 * `[a-z0-9][a-z0-9_-]*`; it reaches the shell as an argument, never as code.
 */
import type { Host } from '../remote/host.js';
import type { Release } from './record.js';
import { historyLine, parseHistory } from './shared-history.js';
import type { ParsedHistory } from './shared-history.js';

export const HOST_HISTORY_DIR = '.stagecraft/releases';

export function hostHistoryPath(service: string): string {
  return `~/${HOST_HISTORY_DIR}/${service}.jsonl`;
}

export function readHistoryArgv(service: string): string[] {
  return ['sh', '-c', 'f="$HOME/.stagecraft/releases/$1.jsonl"; if [ -f "$f" ]; then cat "$f"; fi', 'sh', service];
}

export function appendHistoryArgv(service: string): string[] {
  return ['sh', '-c', 'mkdir -p "$HOME/.stagecraft/releases" && cat >> "$HOME/.stagecraft/releases/$1.jsonl"', 'sh', service];
}

const TIMEOUT_MS = 30_000;

export async function readHostHistory(host: Host, service: string): Promise<ParsedHistory> {
  const result = await host.exec(readHistoryArgv(service), { timeoutMs: TIMEOUT_MS });
  if (result.exitCode !== 0) throw new Error(`reading ${hostHistoryPath(service)} exited ${result.exitCode}: ${result.stderr.trim()}`);
  return parseHistory(result.stdout);
}

export async function appendHostHistory(host: Host, service: string, release: Release): Promise<void> {
  const result = await host.exec(appendHistoryArgv(service), { stdin: historyLine(release), timeoutMs: TIMEOUT_MS });
  if (result.exitCode !== 0) throw new Error(`appending to ${hostHistoryPath(service)} exited ${result.exitCode}: ${result.stderr.trim()}`);
}
