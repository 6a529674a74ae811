import { stringify } from 'yaml';
import { configJsonSchema, loadConfig, redact } from '../../config/index.js';

export interface ConfigShowOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
  json: boolean;
  /** Defaults to the process working directory. */
  cwd?: string;
}

/** `stagecraft config`: the resolved config of one environment, secrets redacted. */
export async function runConfigShow(options: ConfigShowOptions): Promise<void> {
  const loaded = await loadConfig({ path: options.config ?? 'stagecraft.yml', environment: options.env, cwd: options.cwd });
  const shown = redact(loaded.config, loaded.secretValues);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    return;
  }
  const header = `# ${loaded.file} resolved for environment "${loaded.environment}" (defaults applied, secrets redacted)\n`;
  process.stdout.write(header + stringify(shown));
}

/** `stagecraft config schema`: the JSON Schema of stagecraft.yml (committed as schema/stagecraft.schema.json). */
export async function runConfigSchema(): Promise<void> {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}
