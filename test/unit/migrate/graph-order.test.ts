import { describe, expect, it } from 'vitest';
import { compareMigrationIds, formatCycle, orderMigrations, type GraphNode } from '../../../src/migrate/graph/order.js';

const node = (id: string, ...dependsOn: string[]): GraphNode => ({ id, dependsOn });

describe('compareMigrationIds', () => {
  it.each([
    ['0001_a', '0002_a', -1],
    ['9_a', '10_a', -1],
    ['20240101120000_a', '20231231235959_b', 1],
    ['0001_a', '0001_b', -1],
    ['0001_a', '1_a', -1], // same number: the id string decides, so the order is still total
    ['0001_a', 'x_a', -1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareMigrationIds(a, b))).toBe(sign);
    expect(Math.sign(compareMigrationIds(b, a))).toBe(-sign);
  });
});

describe('orderMigrations', () => {
  it('without dependencies keeps numeric order, whatever the input order', () => {
    const ids = ['0010_j', '0002_b', '0001_a', '20240101120000_t', '0003_c'];
    expect(orderMigrations(ids.map((id) => node(id)))).toEqual({ ok: true, order: ['0001_a', '0002_b', '0003_c', '0010_j', '20240101120000_t'] });
  });

  it('puts a dependency first even when its number is higher', () => {
    const result = orderMigrations([node('0001_a'), node('0002_b', '0004_d'), node('0003_c'), node('0004_d')]);
    expect(result).toEqual({ ok: true, order: ['0001_a', '0003_c', '0004_d', '0002_b'] });
  });

  it('breaks ties by id among the migrations that are ready at the same time', () => {
    // 0005 and 0003 both become ready when 0004 is placed; 0003 goes first.
    const result = orderMigrations([node('0005_e', '0004_d'), node('0003_c', '0004_d'), node('0004_d'), node('0001_a')]);
    expect(result).toEqual({ ok: true, order: ['0001_a', '0004_d', '0003_c', '0005_e'] });
  });

  it('a diamond applies each migration once, after all its dependencies', () => {
    const result = orderMigrations([node('0001_a'), node('0002_b', '0001_a'), node('0003_c', '0001_a'), node('0004_d', '0003_c', '0002_b', '0002_b')]);
    expect(result).toEqual({ ok: true, order: ['0001_a', '0002_b', '0003_c', '0004_d'] });
  });

  it('reports a cycle as the cycle, and nothing is ordered', () => {
    const result = orderMigrations([node('0001_a'), node('0003_a', '0005_b'), node('0005_b', '0003_a'), node('0006_c', '0005_b')]);
    expect(result).toEqual({ ok: false, cycle: ['0003_a', '0005_b', '0003_a'], unknown: [] });
    expect(formatCycle((result as { cycle: string[] }).cycle)).toBe('0003_a → 0005_b → 0003_a');
  });

  it('finds the cycle behind a migration that only waits on it', () => {
    const result = orderMigrations([node('0001_x', '0004_p'), node('0004_p', '0007_q'), node('0007_q', '0009_r'), node('0009_r', '0007_q')]);
    expect(result).toMatchObject({ ok: false, cycle: ['0007_q', '0009_r', '0007_q'] });
  });

  it('a migration depending on itself is a cycle of one', () => {
    expect(orderMigrations([node('0001_a', '0001_a')])).toMatchObject({ ok: false, cycle: ['0001_a', '0001_a'] });
  });

  it('names every unknown dependency with the migration that declares it', () => {
    expect(orderMigrations([node('0001_a', '0000_nope'), node('0002_b', '0001_a', '9999_gone')])).toEqual({
      ok: false,
      unknown: [{ id: '0001_a', missing: '0000_nope' }, { id: '0002_b', missing: '9999_gone' }],
    });
  });

  it('orders 5,000 migrations in a chain quickly and correctly', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `${String(i).padStart(5, '0')}_m`);
    // Each depends on the next-numbered one: the reverse of numeric order.
    const nodes = ids.map((id, i) => node(id, ...(i + 1 < ids.length ? [ids[i + 1]!] : [])));
    const result = orderMigrations(nodes);
    expect(result).toEqual({ ok: true, order: [...ids].reverse() });
  });
});
