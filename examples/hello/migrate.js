// Applies migrations/*.sql in name order, once each, recording them in hello_migrations.
// stagecraft runs it as a one-off container of the app image (the `command` engine).
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(2);
}

const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  await client.query('SELECT pg_advisory_lock(727274)');
  await client.query('CREATE TABLE IF NOT EXISTS hello_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied = new Set((await client.query('SELECT id FROM hello_migrations')).rows.map((row) => row.id));
  const files = (await readdir(new URL('./migrations/', import.meta.url))).filter((f) => f.endsWith('.sql')).sort();
  let count = 0;
  for (const file of files) {
    if (applied.has(file)) continue;
    const sql = await readFile(new URL(`./migrations/${file}`, import.meta.url), 'utf8');
    await client.query('BEGIN');
    try {
      await client.query(sql);
      await client.query('INSERT INTO hello_migrations (id) VALUES ($1)', [file]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      console.error(`${file}: ${error.message}`);
      process.exitCode = 1;
      break;
    }
    console.log(`applied ${file}`);
    count++;
  }
  if (!process.exitCode) console.log(`${count} migration(s) applied, ${files.length - count} already present`);
} finally {
  await client.end();
}
