import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';

/**
 * Seeded mutations of a valid stagecraft.yml, each run through `stagecraft config --env prod --json`
 * (in-process through main(), the CLI's own error-to-exit-code mapping, and a sample through the
 * built CLI). Every case must exit 0 or 1, never print a stack trace or exit 10, and every exit-1
 * line must point at the file (`file:line:col:`, or `error: file: ...` where there is no position).
 * Replay a failure with STAGECRAFT_FUZZ_SEED=<seed printed below>.
 */
const CASES = 500;
const CLI_SAMPLE = 20;
const seed = Number.parseInt(process.env.STAGECRAFT_FUZZ_SEED ?? '', 10) || Math.floor(Math.random() * 2 ** 31) + 1;

/** xorshift32: tiny, seeded and reproducible. */
function makeRandom(start: number): () => number {
  let state = start >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

const BASE = [
  'service: shop',
  'image: registry.example.com/acme/shop',
  'x-defaults: &defaults',
  '  timeout: 10m',
  'registry: { server: registry.example.com, username: deploy, password: "${REGISTRY_PASSWORD}" }',
  'builder:',
  '  context: .',
  '  args: { NODE_ENV: production }',
  'ssh:',
  '  user: deploy',
  '  port: 22',
  '  keys: [~/.ssh/id_ed25519]',
  'env:',
  '  clear:',
  '    PORT: "3000"',
  '  secret: [API_TOKEN]',
  'proxy:',
  '  app_port: 3000',
  '  healthcheck: { path: /up, timeout: 30s }',
  'databases:',
  '  main:',
  '    url: ${DATABASE_URL}',
  '    migrations:',
  '      <<: *defaults',
  '      engine: raw',
  '      path: db',
  'environments:',
  '  prod:',
  '    require_approval: true',
  '    rollout: { strategy: rolling, batch_size: 2 }',
  '    hosts:',
  '      - { address: 10.0.1.1, roles: [primary, web] }',
  '      - address: 10.0.1.2',
  '  staging:',
  '    hosts: [{ address: 10.0.0.1, roles: [primary] }]',
];
const SECRETS = 'REGISTRY_PASSWORD=registry-pass-123\nDATABASE_URL=postgres://app:dbpass99@db:5432/app\nAPI_TOKEN=token-xyz\n';

const VALUES = ['[]', '{}', '~', '123', '-1', '0', 'true', 'no', '"str"', "'s'", '1e400', '99999999999999999999999', '0x1F', '.inf', '!!binary aGk=', '2001-12-14', '|\n  block', '*defaults', '"${UNSET_VAR}"', '${A:-${B}}', '"$${x}"', '"${"'];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'helthcheck', 'x-extra', '<<', '"quoted key"', '? complex', '1', 'PORT', 'hosts', 'ssh', ''];
const JUNK = ['\u0000', '\u0007', '\u001b[2J', '\u009b', '\r', '\t', '\u2028', '\u202e', '\ufeff', 'é', '😀', '\\', '"', "'", '#', ':', '{', '[', '&a', '*a', '%', '@', '`', '!', '|', '>', '- '];

type Mutation = (lines: string[], pick: <T>(items: readonly T[]) => T, index: () => number) => void;

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (lines, _pick, index) => void lines.splice(index(), 1),
  duplicateLine: (lines, _pick, index) => {
    const at = index();
    lines.splice(at, 0, lines[at] ?? '');
  },
  renameKey: (lines, pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/^(\s*(?:- )?)[^\s:#{}[\]]+:/, (_m, lead: string) => `${lead}${pick(KEYS)}:`);
  },
  swapValue: (lines, pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/:\s.*$/, `: ${pick(VALUES)}`);
  },
  insertJunk: (lines, pick, index) => {
    const at = index();
    const line = lines[at] ?? '';
    const column = pick(Array.from({ length: line.length + 1 }, (_, i) => i));
    lines[at] = line.slice(0, column) + pick(JUNK) + line.slice(column);
  },
  protoKey: (lines, pick, index) => {
    const at = index();
    const indent = /^\s*/.exec(lines[at] ?? '')?.[0] ?? '';
    lines.splice(at, 0, `${indent}${pick(['__proto__', 'constructor', 'prototype'])}: { strict_host_key_checking: false }`);
  },
  alias: (lines, pick, index) => {
    const at = index();
    lines[at] = `${lines[at] ?? ''} ${pick(['*defaults', '&b', '*b', '*nowhere', '&defaults'])}`;
  },
  selfAlias: (lines) => void lines.push('x-loop: &loop [*loop]', 'proxy: &p { healthcheck: *p }'),
  indent: (lines, pick, index) => {
    const at = index();
    lines[at] = pick(['', ' ', '   ', '\t']) + (lines[at] ?? '').replace(/^\s?/, '');
  },
  tabs: (lines, _pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/^ +/, '\t');
  },
  hugeNumber: (lines, pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/\d+/, pick(['1e308', '9'.repeat(400), '-0', 'NaN', '1_000']));
  },
  longString: (lines, _pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/:\s.*$/, `: ${'x'.repeat(5000)}`);
  },
  documentMarkers: (lines, pick, index) => void lines.splice(index(), 0, pick(['---', '...', '%YAML 1.1', '%TAG ! tag:x,2000:', '--- !!set'])),
  deepNesting: (lines, pick) => void lines.push(`x-deep: ${'['.repeat(pick([10, 63, 65, 200]))}`),
  manyAliases: (lines, pick) => void lines.push(`x-many: [${Array(pick([50, 101, 150])).fill('*defaults').join(', ')}]`),
  interpolation: (lines, pick, index) => {
    const at = index();
    lines[at] = (lines[at] ?? '').replace(/:\s(.*)$/, (_m, value: string) => `: "${value}${pick(['${', '${}', '${1X}', '${A:?b}', '${DATABASE_URL}', '${API_TOKEN}', '$$'])}"`);
  },
  environmentName: (lines, pick) => {
    const at = lines.indexOf('  prod:');
    if (at !== -1) lines[at] = `  ${pick(['Prod', 'prod\u001b', '__proto__', 'constructor', 'pr od', '"prod"'])}:`;
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

interface FuzzCase {
  id: number;
  mutations: string[];
  text: string;
}

function makeCases(count: number): FuzzCase[] {
  const random = makeRandom(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, (_, id) => {
    const lines = [...BASE];
    const mutations: string[] = [];
    const steps = 1 + Math.floor(random() * 3);
    for (let step = 0; step < steps; step++) {
      const name = pick(MUTATION_NAMES);
      mutations.push(name);
      (MUTATIONS[name] as Mutation)(lines, pick, () => Math.floor(random() * lines.length));
    }
    let text = `${lines.join('\n')}\n`;
    if (random() < 0.08) {
      mutations.push('truncate');
      text = text.slice(0, Math.floor(random() * text.length));
    }
    return { id, mutations, text };
  });
}

const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
let dir: string;
const savedEnv = process.env.STAGECRAFT_ENV;

beforeAll(async () => {
  process.stdout.write(`[config fuzz] seed ${seed} (replay with STAGECRAFT_FUZZ_SEED=${seed})\n`);
  delete process.env.STAGECRAFT_ENV;
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-fuzz-'));
  await mkdir(path.join(dir, '.stagecraft'));
  await writeFile(path.join(dir, '.stagecraft/secrets'), SECRETS);
  await chmod(path.join(dir, '.stagecraft/secrets'), 0o600);
});

afterAll(async () => {
  if (savedEnv !== undefined) process.env.STAGECRAFT_ENV = savedEnv;
  await rm(dir, { recursive: true, force: true });
});

/** Why a run's outcome breaks the contract, or undefined. `file` is the config path as messages show it. */
function violation(code: number | undefined, stderr: string, file: string): string | undefined {
  if (code !== 0 && code !== 1) return `exit ${String(code)}`;
  if (/\n\s+at |internal error|^\s+at /m.test(stderr)) return 'stack trace or internal error';
  if (code === 0) return undefined;
  const lines = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('warning: ') && !line.startsWith('hint: '));
  if (lines.length === 0) return 'exit 1 without a message';
  const located = new RegExp(`^(?:${escapeRegExp(file)}:\\d+:\\d+: |error: ${escapeRegExp(file)}: |${escapeRegExp(file)}:\\d+:\\d+: )`);
  const secretsLine = /^\.stagecraft\/secrets:|^.*\/\.stagecraft\/secrets:/;
  const bad = lines.find((line) => !located.test(line) && !secretsLine.test(line));
  return bad === undefined ? undefined : `a line without file:line:col: ${JSON.stringify(bad)}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function report(fuzzCase: FuzzCase, why: string, stderr: string): string {
  return `case ${fuzzCase.id} (seed ${seed}; ${fuzzCase.mutations.join(', ')}): ${why}\n--- stderr\n${stderr}--- file\n${fuzzCase.text}`;
}

describe(`config fuzzer (seed ${seed})`, { timeout: 60_000 }, () => {
  const cases = makeCases(CASES);

  it(`${CASES} mutated configs through main(): exit 0 or 1, no stack trace, every error at file:line:col`, async () => {
    const failures: string[] = [];
    const exits = { 0: 0, 1: 0, other: 0 };
    const file = path.join(dir, 'stagecraft.yml');
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    const started = performance.now();
    try {
      for (const fuzzCase of cases) {
        await writeFile(file, fuzzCase.text);
        stdout = '';
        stderr = '';
        process.exitCode = undefined;
        const code = await main(['node', 'stagecraft', 'config', '-c', file, '--env', 'prod', '--json']);
        if (code === 0) exits[0]++;
        else if (code === 1) exits[1]++;
        else exits.other++;
        const why = violation(code, stderr, file) ?? (code === 0 && !stdout.startsWith('{') ? 'exit 0 without JSON on stdout' : undefined);
        if (why !== undefined) failures.push(report(fuzzCase, why, stderr));
      }
    } finally {
      vi.restoreAllMocks();
      process.exitCode = undefined;
    }
    process.stdout.write(
      `[config fuzz] ${CASES} cases in ${Math.round(performance.now() - started)} ms: ${exits[0]} exit 0, ${exits[1]} exit 1, ${exits.other} other\n`,
    );
    expect(failures.slice(0, 3).join('\n\n')).toBe('');
  });

  it(`${CLI_SAMPLE} of them through the built CLI: same contract, no stack trace`, async () => {
    const sample = cases.filter((_, index) => index % Math.floor(CASES / CLI_SAMPLE) === 0).slice(0, CLI_SAMPLE);
    const failures: string[] = [];
    const runOne = async (fuzzCase: FuzzCase): Promise<void> => {
      const name = `case-${fuzzCase.id}.yml`;
      await writeFile(path.join(dir, name), fuzzCase.text);
      const result = await execa('node', [bin, 'config', '-c', name, '--env', 'prod', '--json'], {
        cwd: dir,
        reject: false,
        timeout: 30_000,
        extendEnv: false,
        env: { PATH: process.env.PATH ?? '' },
      });
      const why = violation(result.exitCode, result.stderr, name);
      if (why !== undefined) failures.push(report(fuzzCase, why, result.stderr));
    };
    for (let start = 0; start < sample.length; start += 4) await Promise.all(sample.slice(start, start + 4).map(runOne));
    expect(failures.slice(0, 3).join('\n\n')).toBe('');
  });
});
