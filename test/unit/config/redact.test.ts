import { describe, expect, it } from 'vitest';
import { REDACTED, redact, redactText } from '../../../src/config/index.js';
import { HEAD, PROD, load, yaml } from './helpers.js';

describe('redaction', () => {
  it('replaces every occurrence in text, longest secret first', () => {
    expect(redactText('token=abc123 again abc123; short abc', ['abc', 'abc123'])).toBe(
      `token=${REDACTED} again ${REDACTED}; short ${REDACTED}`,
    );
    expect(redactText('nothing here', [])).toBe('nothing here');
    expect(redactText('keep', [''])).toBe('keep');
  });

  it('redacts deep copies: password fields and strings containing a secret', () => {
    const input = {
      registry: { server: 'r', password: 'not-listed' },
      nested: [{ url: 'postgres://u:hunter22@h/db' }, 'plain', 42, null, true],
      message: 'connect failed for hunter22',
    };
    const output = redact(input, ['hunter22']);
    expect(output).toEqual({
      registry: { server: 'r', password: REDACTED },
      nested: [{ url: REDACTED }, 'plain', 42, null, true],
      message: REDACTED,
    });
    expect(input.registry.password).toBe('not-listed');
  });

  it('leaves a missing password missing', () => {
    expect(redact({ registry: { server: 'r' } }, [])).toEqual({ registry: { server: 'r' } });
  });

  it('collects env.secret values, registry.password, database URLs and their passwords', async () => {
    const loaded = await load(
      yaml(
        ...HEAD,
        'registry: { server: r.example.com, username: deploy, password: "${REGISTRY_PASSWORD}" }',
        'env: { secret: [API_KEY] }',
        'databases:',
        '  main: { url: "postgres://app:s3cr%40t@db:5432/app", migrations: { engine: raw, path: db } }',
        '  other: { url: "postgres://app:ab@db/other", migrations: { engine: raw, path: db2 } }',
        ...PROD,
      ),
      { processEnv: { REGISTRY_PASSWORD: 'registry-pass', API_KEY: 'api-key-value' } },
    );
    expect([...loaded.secretValues].sort()).toEqual(
      ['api-key-value', 'postgres://app:ab@db/other', 'postgres://app:s3cr%40t@db:5432/app', 'registry-pass', 's3cr%40t', 's3cr@t'].sort(),
    );

    const shown = JSON.stringify(redact(loaded.config, loaded.secretValues));
    for (const secret of loaded.secretValues) expect(shown).not.toContain(secret);
    expect(shown).toContain(`"password":"${REDACTED}"`);
    expect(shown).toContain(`"url":"${REDACTED}"`);
    // A 2-character URL password is not redacted on its own: it would garble unrelated text.
    expect(shown).toContain('"roles":["primary","web"]');
    expect(redactText('error: password authentication failed (s3cr@t)', loaded.secretValues)).toBe(
      `error: password authentication failed (${REDACTED})`,
    );
  });
});
