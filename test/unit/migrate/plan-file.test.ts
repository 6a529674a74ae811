import { describe, expect, it } from 'vitest';
import { formatPlanFileProblems, parsePlanFile, validatePlanFile } from '../../../src/migrate/orchestrate/plan-file.js';
import type { KnownDatabase } from '../../../src/migrate/orchestrate/plan-file.js';

const KNOWN = new Map<string, KnownDatabase>([
  ['main', { targets: [], migrations: ['0001_publisher', '0003_some_table'] }],
  ['replica', { targets: [], migrations: ['0002_subscriber'] }],
  ['tenants', { targets: ['tenant_a', 'tenant_b'], migrations: ['0001_accounts', '0002_invoices'], dependsOn: new Map([['0002_invoices', ['0001_accounts']]]) }],
]);

describe('orchestration.plan', () => {
  it('reads one <target>:<migration> per line; comments and blank lines are fine', () => {
    const text = '# publisher first\nmain:0001_publisher\n\nreplica:0002_subscriber   # needs the publication\r\ntenants/tenant_a:0001_accounts\n';
    expect(parsePlanFile(text)).toEqual({
      entries: [
        { line: 2, target: 'main', database: 'main', migration: '0001_publisher' },
        { line: 4, target: 'replica', database: 'replica', migration: '0002_subscriber' },
        { line: 5, target: 'tenants/tenant_a', database: 'tenants', subtarget: 'tenant_a', migration: '0001_accounts' },
      ],
      problems: [],
    });
  });

  it('a line that is not an entry is a problem at its line', () => {
    expect(parsePlanFile('main:0001\nmain 0002\n:0003\nmain:\n').problems).toEqual([
      { line: 2, message: 'expected "<database>[/<target>]:<migration>", got "main 0002"' },
      { line: 3, message: 'expected "<database>[/<target>]:<migration>", got ":0003"' },
      { line: 4, message: 'expected "<database>[/<target>]:<migration>", got "main:"' },
    ]);
  });

  it('a complete plan interleaving databases is valid', () => {
    const { entries } = parsePlanFile('main:0001_publisher\nreplica:0002_subscriber\nmain:0003_some_table\n');
    expect(validatePlanFile(entries, KNOWN)).toEqual([]);
  });

  it('reports unknown targets and migrations, duplicates, broken order and left-out migrations with file:line', () => {
    const text = [
      'main:0003_some_table', // 1: before 0001 in main's own order
      'main:0001_publisher', // 2
      'orders:0001_x', // 3: unknown database
      'tenants/tenant_c:0001_accounts', // 4: unknown target
      'replica:0009_nope', // 5: unknown migration
      'tenants/tenant_a:0002_invoices', // 6: depends on 0001, listed later
      'tenants/tenant_a:0001_accounts', // 7
      'main:0001_publisher', // 8: twice
    ].join('\n');
    const problems = validatePlanFile(parsePlanFile(text).entries, KNOWN);
    expect(formatPlanFileProblems('migrations/orchestration.plan', problems)).toEqual([
      "migrations/orchestration.plan:1: main:0003_some_table comes before 0001_publisher in main's own order, but is listed first (0001_publisher on line 2)",
      'migrations/orchestration.plan:3: unknown database "orders" (databases: main, replica, tenants)',
      'migrations/orchestration.plan:4: unknown target "tenants/tenant_c" (its targets: tenant_a, tenant_b)',
      'migrations/orchestration.plan:5: unknown migration "0009_nope" in replica',
      'migrations/orchestration.plan:6: tenants/tenant_a:0002_invoices depends on 0001_accounts, listed later (line 7)',
      'migrations/orchestration.plan:8: main:0001_publisher is listed twice (first on line 2)',
    ]);
  });

  it('a listed database whose migrations the plan leaves out is reported at its first line', () => {
    const problems = validatePlanFile(parsePlanFile('replica:0002_subscriber\nmain:0001_publisher\n').entries, KNOWN);
    expect(problems).toEqual([{ line: 2, message: 'main: the plan leaves out 0003_some_table (every migration of a listed database must be in the plan)' }]);
  });
});
