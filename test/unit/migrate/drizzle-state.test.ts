import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DRIZZLE_TABLE, drizzleHash, drizzleState, parseDrizzleJournal } from '../../../src/migrate/engines/drizzle-state.js';
import type { DrizzleJournalEntry, DrizzleRow } from '../../../src/migrate/engines/drizzle-state.js';

const journal: DrizzleJournalEntry[] = [
  { tag: '0000_create', when: 1000 },
  { tag: '0001_column', when: 2000 },
  { tag: '0002_seed', when: 3000 },
];
const files = new Map(journal.map((entry) => [`${entry.tag}.sql`, Buffer.from(`-- ${entry.tag}\nSELECT 1;`)]));
const hash = (tag: string) => drizzleHash(files.get(`${tag}.sql`)!);
const row = (id: number, tag: string, when: number): DrizzleRow => ({ id, hash: hash(tag), created_at: when });
const state = (rows: DrizzleRow[] | undefined, overrides: { journal?: DrizzleJournalEntry[]; files?: Map<string, Buffer> } = {}) =>
  drizzleState({ path: 'drizzle', table: DRIZZLE_TABLE, journal: overrides.journal ?? journal, files: overrides.files ?? files, rows });
const summary = (s: ReturnType<typeof state>) => s.migrations.map((m) => `${m.state} ${m.id}${m.missing_file ? ' (no file)' : ''}`);

describe('drizzle journal', () => {
  it('reads the entries in order (the example project, as drizzle-kit generate wrote it)', () => {
    const text = readFileSync(new URL('../../../examples/drizzle/drizzle/meta/_journal.json', import.meta.url), 'utf8');
    const entries = parseDrizzleJournal(text);
    expect(Array.isArray(entries) && entries.map((entry) => entry.tag)).toEqual(['0000_create_greetings', '0001_add_greeting_language', '0002_seed_greetings']);
  });

  it('names what is wrong with a journal drizzle-kit could not use', () => {
    expect(parseDrizzleJournal('{')).toMatchObject({ error: expect.stringContaining('meta/_journal.json is not JSON') });
    expect(parseDrizzleJournal('{"version":"7"}')).toEqual({ error: 'meta/_journal.json has no "entries" list' });
    expect(parseDrizzleJournal('{"entries":[{"tag":"0000_a"}]}')).toEqual({ error: 'meta/_journal.json: entry 0 needs a "tag" string and a "when" number' });
  });

  it('hashes like drizzle-orm: sha256 of the file read as a string (the recorded hashes of the example)', () => {
    const sql = readFileSync(new URL('../../../examples/drizzle/drizzle/0000_create_greetings.sql', import.meta.url));
    expect(drizzleHash(sql)).toBe(createHash('sha256').update(sql).digest('hex'));
    // Recorded by drizzle-kit migrate 0.31.11 on the testbed.
    expect(drizzleHash(sql)).toBe('02f8046504788b8b7299d00074b334896d270d8d05d3a38d3705cebd805904a7');
  });
});

describe('drizzle state (journal + files + __drizzle_migrations rows)', () => {
  it('no table: every entry pending, a note says so', () => {
    const s = state(undefined);
    expect(summary(s)).toEqual(['pending 0000_create', 'pending 0001_column', 'pending 0002_seed']);
    expect(s).toMatchObject({ readable: true, applied_count: 0, pending_known: true, notes: ['"drizzle"."__drizzle_migrations" does not exist yet: nothing applied'] });
    expect(s.migrations[0]).toMatchObject({ file: 'drizzle/0000_create.sql', checksum: hash('0000_create') });
  });

  it('pending = entries whose "when" is after the newest created_at, as the migrator decides', () => {
    const s = state([row(1, '0000_create', 1000), row(2, '0001_column', 2000)]);
    expect(summary(s)).toEqual(['applied 0000_create', 'applied 0001_column', 'pending 0002_seed']);
    expect(s.applied_count).toBe(2);
    expect(s.notes).toEqual([]);
  });

  it('an applied file whose sha256 differs from its row is drift', () => {
    const changed = new Map(files);
    changed.set('0000_create.sql', Buffer.from('-- edited after deploy'));
    const s = state([row(1, '0000_create', 1000)], { files: changed });
    expect(s.migrations[0]).toMatchObject({ id: '0000_create', state: 'drifted', error: '0000_create.sql changed after it was applied (sha256 differs from "drizzle"."__drizzle_migrations")' });
    expect(summary(s).slice(1)).toEqual(['pending 0001_column', 'pending 0002_seed']);
  });

  it('an entry older than the newest row but never recorded will never run: drift, so runs refuse', () => {
    const s = state([row(1, '0000_create', 1000), row(3, '0002_seed', 3000)]);
    expect(s.migrations[1]).toMatchObject({ id: '0001_column', state: 'drifted', error: expect.stringContaining('drizzle-kit migrate never will') });
    expect(summary(s)).toEqual(['applied 0000_create', 'drifted 0001_column', 'applied 0002_seed']);
    expect(s.applied_count).toBe(2);
  });

  it('a row no journal entry explains is listed as applied without a file', () => {
    const s = state([row(1, '0000_create', 1000), { id: 7, hash: 'abc', created_at: 500 }]);
    expect(summary(s)).toEqual(['applied 0000_create', 'pending 0001_column', 'pending 0002_seed', 'applied "drizzle"."__drizzle_migrations"#7 (no file)']);
  });

  it('a journal entry without its .sql file: noted (drizzle-kit migrate fails), applied ones kept applied', () => {
    const fewer = new Map(files);
    fewer.delete('0000_create.sql');
    fewer.delete('0002_seed.sql');
    const s = state([row(1, '0000_create', 1000)], { files: fewer });
    expect(summary(s)).toEqual(['applied 0000_create (no file)', 'pending 0001_column', 'pending 0002_seed']);
    expect(s.notes).toEqual(['0000_create.sql, 0002_seed.sql listed in meta/_journal.json but not in the image: drizzle-kit migrate fails until they are back']);
  });

  it('a tag listed twice is unreadable', () => {
    expect(state(undefined, { journal: [...journal, { tag: '0000_create', when: 4000 }] })).toMatchObject({ readable: false, reason: 'meta/_journal.json lists 0000_create twice' });
  });
});
