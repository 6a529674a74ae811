import { createInterface } from 'node:readline/promises';
import type { LoadedConfig } from '../config/index.js';
import { RefusedError } from '../errors.js';

/** Environments with `require_approval` need an interactive "yes" or --yes; anything else refuses (exit 2). */
export async function confirmEnvironment(loaded: LoadedConfig, action: string, yes: boolean): Promise<void> {
  if (!loaded.config.require_approval || yes) return;
  await ask(`${action}? ${loaded.environment} requires approval`, `${loaded.environment} requires approval and there is no terminal to ask`);
}

/** An action that needs a person's "yes" (or --yes in scripts); without a terminal it refuses (exit 2). */
export async function confirmAction(action: string, yes: boolean): Promise<void> {
  if (yes) return;
  await ask(`${action}?`, `${action}: needs a "yes" and there is no terminal to ask`);
}

async function ask(question: string, noTerminal: string): Promise<void> {
  if (!process.stdin.isTTY) throw new RefusedError(noTerminal, { hint: 'pass --yes to approve non-interactively' });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new RefusedError('not approved');
  } finally {
    rl.close();
  }
}
