import { StringDecoder } from 'node:string_decoder';

/**
 * Decodes a byte stream as UTF-8 (never splitting a character across chunks), hands each decoded
 * chunk to an optional listener, and keeps only the last `maxChars` characters.
 */
export class OutputTail {
  private readonly decoder = new StringDecoder('utf8');
  private text = '';
  private dropped = false;
  private readonly maxChars: number;
  private readonly listener: ((chunk: string) => void) | undefined;

  constructor(maxChars: number, listener?: (chunk: string) => void) {
    this.maxChars = maxChars;
    this.listener = listener;
  }

  write(chunk: Buffer): void {
    this.add(this.decoder.write(chunk));
  }

  end(): void {
    this.add(this.decoder.end());
  }

  /** The kept text; starts with a marker line when earlier output was dropped. */
  get value(): string {
    const tail = this.text.length > this.maxChars ? this.text.slice(-this.maxChars) : this.text;
    return this.dropped || tail.length < this.text.length ? `[… earlier output omitted]\n${tail}` : tail;
  }

  private add(decoded: string): void {
    if (decoded === '') return;
    this.listener?.(decoded);
    if (this.maxChars === 0) return;
    this.text += decoded;
    if (this.text.length > this.maxChars * 2) {
      this.text = this.text.slice(-this.maxChars);
      this.dropped = true;
    }
  }
}
