import { describe, expect, it } from 'vitest';
import { resolveVersion } from '../../../src/build/version.js';
import { durationOption } from '../../../src/cli/context.js';
import { unknownReleaseError } from '../../../src/releases/store.js';
import { parseDuration } from '../../../src/config/duration.js';
import { escapeControls, quoteValue } from '../../../src/user-text.js';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

const HOSTILE = 'prod\u001b[2J\nfoo\u009b31m\u202e\u0000';
const ESCAPED = 'prod\\u001b[2J\\nfoo\\u009b31m\\u202e\\u0000';

/** Messages quoting user text must stay one line each with no control character in it. */
function expectClean(message: string): void {
  // eslint-disable-next-line no-control-regex
  expect(message).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028-\u202e]/);
}

describe('user-supplied text in messages', () => {
  it('escapes control characters JSON-style and leaves the rest alone', () => {
    expect(escapeControls(HOSTILE)).toBe(ESCAPED);
    expect(quoteValue('a "b" \\ c\td')).toBe('"a \\"b\\" \\\\ c\\td"');
    expect(quoteValue('prod-eu_1 ünïcode ✓')).toBe('"prod-eu_1 ünïcode ✓"');
  });

  it('an --env value with escape codes and a newline is quoted escaped', async () => {
    const error = (await load(yaml(...HEAD, ...PROD), { env: HOSTILE }).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toContain(`unknown environment "${ESCAPED}"`);
    expect(error.message.split('\n')).toHaveLength(1);
    expectClean(error.message);
  });

  it('duration options and values are quoted escaped', () => {
    expect(() => durationOption('--lock-wait', `5m${HOSTILE}`)).toThrow(`--lock-wait "5m${ESCAPED}" is not a duration`);
    expect(() => parseDuration(`1h\n${HOSTILE}`)).toThrow(`invalid duration "1h\\n${ESCAPED}"`);
  });

  it('keys, names and values from the file are quoted escaped', async () => {
    const errors = await loadErrors(
      yaml(
        ...HEAD,
        'proxy: { "helth\\u001b[2Jcheck": {} }',
        'rollout: { strategy: "all\\u009b" }',
        'databases: { "Main\\u202e": { url: x, migrations: { engine: raw, path: db } } }',
        'hooks: { path: "${BAD\\u001bNAME}" }',
        ...PROD,
      ),
    );
    for (const line of errors) expectClean(line);
    expect(errors.join('\n')).toContain('unknown key "helth\\u001b[2Jcheck" in proxy');
    expect(errors.join('\n')).toContain('got "all\\u009b"');
    expect(errors.join('\n')).toContain('invalid name "Main\\u202e" in databases');
    expect(errors.join('\n')).toContain('invalid variable name "BAD\\u001bNAME"');
  });

  it('--version and release ids from argv are quoted escaped', async () => {
    await expect(resolveVersion(process.cwd(), HOSTILE)).rejects.toThrow(`--version "${ESCAPED}" is not a valid image tag`);
    const error = unknownReleaseError(HOSTILE, []);
    expect(error.message).toBe(`unknown release "${ESCAPED}" (no releases recorded yet)`);
    expectClean(error.message);
  });
});
