/**
 * Renders an env file in Docker's `--env-file` format. That format has no quoting: a value is
 * everything after the first `=` up to the newline, so values with newlines cannot be expressed
 * and are refused rather than silently truncated.
 */
export function renderEnvFile(env: Readonly<Record<string, string>>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`invalid environment variable name: ${key}`);
    if (value.includes('\n')) throw new Error(`environment variable ${key} contains a newline, which env files cannot hold`);
    lines.push(`${key}=${value}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
