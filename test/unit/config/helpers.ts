import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import type { LoadedConfig } from '../../../src/config/index.js';

const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temp directory holding `files` (paths relative to it). */
export async function tempProject(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stagecraft-config-test-'));
  created.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/** Captures what each test of the calling file writes to stdout; call the returned function to read it. */
export function captureStdout(): () => string {
  let output = '';
  beforeEach(() => {
    output = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return () => output;
}

export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** service + image: the two required top-level lines. */
export const HEAD = ['service: web', 'image: registry.example.com/acme/web'];
/** One environment `prod` with one primary host (4 lines). */
export const PROD = ['environments:', '  prod:', '    hosts:', '      - { address: 10.0.0.1, roles: [primary, web] }'];

export interface LoadOptions {
  env?: string;
  processEnv?: Record<string, string>;
  secrets?: string;
}

export async function load(text: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const files: Record<string, string> = { 'stagecraft.yml': text };
  if (options.secrets !== undefined) files['.stagecraft/secrets'] = options.secrets;
  const dir = await tempProject(files);
  return loadConfig({ path: 'stagecraft.yml', cwd: dir, environment: options.env, processEnv: options.processEnv ?? {} });
}

/** The error lines of a config that must be rejected with a ConfigError. */
export async function loadErrors(text: string, options: LoadOptions = {}): Promise<string[]> {
  let loaded: LoadedConfig;
  try {
    loaded = await load(text, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error(`expected a ConfigError, but the config loaded: ${JSON.stringify(loaded.config)}`);
}
