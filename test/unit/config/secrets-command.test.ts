import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { HEAD, PROD, tempProject, yaml } from './helpers.js';

/**
 * `secrets:` runs real commands (node scripts here, as argv): whole dotenv output or one value per
 * key, only when a variable is not found in the environment or .stagecraft/secrets.
 */
const node = (script: string) => `["${process.execPath}", "-e", ${JSON.stringify(script)}]`;
// Leaves a marker file in the config dir each time it runs, so a test can tell whether it ran.
const DOTENV = node("require('fs').appendFileSync('ran-command', 'x'); console.log('DB_URL=postgres://app:s3cr3t-from-command@db/app\\nAPI_TOKEN=tok-123')");
const ONE_VALUE = node("console.log('key-value-42')");

async function loadWith(lines: string[], processEnv: Record<string, string> = {}, secretsFile?: string) {
  const dir = await tempProject({
    'stagecraft.yml': yaml(...HEAD, ...lines, ...PROD),
    ...(secretsFile !== undefined ? { '.stagecraft/secrets': secretsFile } : {}),
  });
  const result = await loadConfig({ path: 'stagecraft.yml', cwd: dir, environment: 'prod', processEnv }).then(
    (loaded) => ({ loaded, error: undefined }),
    (error: unknown) => ({ loaded: undefined, error }),
  );
  return { dir, ...result };
}

const USES = ['env:', '  clear: { TOKEN_SEEN: "${API_TOKEN}" }', 'databases:', '  main: { url: "${DB_URL}", migrations: { engine: raw, path: db } }'];

describe('secrets from a command', () => {
  it('fills variables from the dotenv output of secrets.command, once, and counts every value as a secret', async () => {
    const { dir, loaded, error } = await loadWith(['secrets:', `  command: ${DOTENV}`, ...USES]);
    expect(error).toBeUndefined();
    expect(loaded!.config.databases.main!.url).toBe('postgres://app:s3cr3t-from-command@db/app');
    expect(loaded!.config.env.clear.TOKEN_SEEN).toBe('tok-123');
    expect(loaded!.secretValues).toEqual(expect.arrayContaining(['postgres://app:s3cr3t-from-command@db/app', 'tok-123']));
    expect(await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'ran-command'), 'utf8'))).toBe('x');
  });

  it('does not run when the environment and .stagecraft/secrets already give every variable', async () => {
    const { dir, loaded } = await loadWith(['secrets:', `  command: ${DOTENV}`, ...USES], { API_TOKEN: 'from-env' }, 'DB_URL=postgres://u:p@h/d\n');
    expect(loaded!.config.env.clear.TOKEN_SEEN).toBe('from-env');
    expect(loaded!.config.databases.main!.url).toBe('postgres://u:p@h/d');
    expect(existsSync(path.join(dir, 'ran-command'))).toBe(false);
  });

  it('secrets.keys: one command per variable, its output without the final line break', async () => {
    const { loaded, error } = await loadWith(['secrets:', '  keys:', `    API_TOKEN: ${ONE_VALUE}`, 'env:', '  secret: [API_TOKEN]']);
    expect(error).toBeUndefined();
    expect(loaded!.secretEnv.API_TOKEN).toBe('key-value-42');
    expect(loaded!.secretValues).toContain('key-value-42');
  });

  it('a failing command is a config error at its position naming the command and its exit, never its output', async () => {
    const failing = node("console.log('LEAK=do-not-print'); console.error('not signed in'); process.exit(3)");
    const { error } = await loadWith(['secrets:', `  command: ${failing}`, ...USES]);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^stagecraft\.yml:4:\d+: secrets\.command: .*node exited with code 3: not signed in$/m);
    expect(message).not.toContain('do-not-print');
  });

  it('a missing program says so; a bad secrets section is reported with its position', async () => {
    const missing = await loadWith(['secrets:', '  keys:', '    API_TOKEN: [stagecraft-no-such-program-xyz]', 'env:', '  secret: [API_TOKEN]']);
    expect((missing.error as Error).message).toContain('secrets.keys.API_TOKEN: stagecraft-no-such-program-xyz: command not found');
    const bad = await loadWith(['secrets:', '  command: "op read x"']);
    expect(bad.error).toBeInstanceOf(ConfigError);
    expect((bad.error as Error).message).toMatch(/^stagecraft\.yml:4:\d+: secrets\.command: /m);
  });
});
