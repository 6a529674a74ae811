/**
 * `migrate new`: the SQL a new raw migration starts with — built-in templates, or a project's own
 * `<migrations path>/templates/<name>.sql` (+ `<name>.down.sql`) with `{{name}}`, `{{table}}` and
 * `{{id}}` replaced. Every built-in is valid SQL for the Postgres parser.
 */
import { NO_TRANSACTION_MARKER } from '../raw/files.js';

export const BUILT_IN_TEMPLATES = ['table', 'index', 'data', 'blank'] as const;
export type BuiltInTemplate = (typeof BUILT_IN_TEMPLATES)[number];

export const TEMPLATES_DIR = 'templates';

export interface TemplateValues {
  /** `0008_create_users` */
  id: string;
  /** `create_users` */
  name: string;
  /** `users` */
  table: string;
}

export interface MigrationText {
  up: string;
  down: string;
}

export function isBuiltInTemplate(name: string): name is BuiltInTemplate {
  return (BUILT_IN_TEMPLATES as readonly string[]).includes(name);
}

const BUILT_INS: Record<BuiltInTemplate, MigrationText> = {
  table: {
    up: `-- {{id}}: create table {{table}}
CREATE TABLE {{table}} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
    down: `-- {{id}}: revert
DROP TABLE {{table}};
`,
  },
  index: {
    up: `${NO_TRANSACTION_MARKER}
-- {{id}}: CONCURRENTLY cannot run in a transaction, hence the marker above
CREATE INDEX CONCURRENTLY {{table}}_created_at_idx ON {{table}} (created_at);
`,
    down: `${NO_TRANSACTION_MARKER}
-- {{id}}: revert
DROP INDEX CONCURRENTLY IF EXISTS {{table}}_created_at_idx;
`,
  },
  data: {
    up: `-- {{id}}: change rows of {{table}} in batches, so no statement locks the whole table for long.
-- Replace the statement at the end with the batch loop, e.g.:
--
-- DO $$
-- DECLARE
--   changed integer;
-- BEGIN
--   LOOP
--     UPDATE {{table}} SET column_name = 'new value'
--      WHERE id IN (SELECT id FROM {{table}} WHERE column_name IS NULL LIMIT 1000);
--     GET DIAGNOSTICS changed = ROW_COUNT;
--     EXIT WHEN changed = 0;
--   END LOOP;
-- END
-- $$;
--
-- The file runs in one transaction; to commit between batches, start it with
-- ${NO_TRANSACTION_MARKER} and run one batch per statement.
SELECT 1;
`,
    down: `-- {{id}}: revert the data change (write the reverse UPDATE here)
SELECT 1;
`,
  },
  blank: {
    up: `-- {{id}}: write the migration's SQL here
`,
    down: `-- {{id}}: write the SQL that reverts it here
`,
  },
};

export function builtInTemplate(template: BuiltInTemplate): MigrationText {
  return BUILT_INS[template];
}

/** Replaces `{{id}}`, `{{name}}` and `{{table}}` (spaces inside the braces allowed); other text stays. */
export function fillPlaceholders(text: string, values: TemplateValues): string {
  return text.replace(/\{\{\s*(id|name|table)\s*\}\}/g, (_, key: keyof TemplateValues) => values[key]);
}

/**
 * Adds `-- stagecraft:depends-on A, B` to the file's header: first line, or second when the first is
 * the no-transaction marker (which must stay first).
 */
export function withDependsOn(sql: string, ids: readonly string[]): string {
  if (ids.length === 0) return sql;
  const line = `-- stagecraft:depends-on ${ids.join(', ')}\n`;
  const [first = '', ...rest] = sql.split('\n');
  if (first.trim() === NO_TRANSACTION_MARKER) return `${first}\n${line}${rest.join('\n')}`;
  return `${line}${sql}`;
}

/** The up and down text of a new migration, from its template text. */
export function renderMigration(template: MigrationText, values: TemplateValues, dependsOn: readonly string[]): MigrationText {
  return { up: withDependsOn(fillPlaceholders(template.up, values), dependsOn), down: fillPlaceholders(template.down, values) };
}
