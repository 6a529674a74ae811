import { createInterface } from 'node:readline/promises';
import type { LoadedConfig } from '../config/index.js';
import { RefusedError } from '../errors.js';

/** Environments with `require_approval` need an interactive "yes" or --yes; anything else refuses (exit 2). */
export async function confirmEnvironment(loaded: LoadedConfig, action: string, yes: boolean): Promise<void> {
  if (!loaded.config.require_approval || yes) return;
  if (!process.stdin.isTTY) {
    throw new RefusedError(`${loaded.environment} requires approval and there is no terminal to ask`, {
      hint: 'pass --yes to approve non-interactively',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${action}? ${loaded.environment} requires approval. Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new RefusedError('not approved');
  } finally {
    rl.close();
  }
}
