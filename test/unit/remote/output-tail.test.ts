import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../../src/remote/output-tail.js';

describe('OutputTail', () => {
  it('never splits a multi-byte character across chunks', () => {
    const chunks: string[] = [];
    const tail = new OutputTail(100, (chunk) => chunks.push(chunk));
    const bytes = Buffer.from('é✓日');
    for (const byte of bytes) tail.write(Buffer.from([byte]));
    tail.end();
    expect(chunks.join('')).toBe('é✓日');
    expect(tail.value).toBe('é✓日');
  });

  it('keeps only the end and says that earlier output was dropped', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 100; i += 1) tail.write(Buffer.from(`line ${i}\n`));
    tail.end();
    expect(tail.value.startsWith('[… earlier output omitted]\n')).toBe(true);
    expect(tail.value.endsWith('line 99\n')).toBe(true);
    expect(tail.value.length).toBeLessThanOrEqual(10 + '[… earlier output omitted]\n'.length);
  });

  it('with a zero budget only streams', () => {
    const seen: string[] = [];
    const tail = new OutputTail(0, (chunk) => seen.push(chunk));
    tail.write(Buffer.from('abc'));
    expect(seen).toEqual(['abc']);
    expect(tail.value).toBe('');
  });
});
