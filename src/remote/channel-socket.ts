/**
 * Makes a byte stream (an SSH channel: `docker system dial-stdio`, or a direct-tcpip forward)
 * look enough like a net.Socket for Node's HTTP client and Agent: timeouts, keep-alive and
 * ref/unref calls, and a clean end-of-stream before close so responses delimited by connection
 * close complete.
 *
 * It can exist before its channel does (`connecting`), so an http.Agent counts it at once and
 * its maxSockets/queueing work while the channel is still being opened; writes wait until then.
 */
import { Duplex } from 'node:stream';

/** The parts of an ssh2 ClientChannel this wrapper uses (also satisfied by a net.Socket in tests). */
export interface ByteChannel {
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  destroy(): unknown;
}

export class ChannelSocket extends Duplex {
  timeout = 0;
  private channel: ByteChannel | undefined;
  private channelClosed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private waitingForChannel: (() => void) | undefined;

  constructor(channel?: ByteChannel) {
    super({ allowHalfOpen: false });
    if (channel) this.attach(channel);
  }

  /** True until the channel is attached (read by Node's HTTP client, like net.Socket#connecting). */
  get connecting(): boolean {
    return this.channel === undefined;
  }

  /** Connects this socket to its opened channel. A socket destroyed meanwhile closes the channel. */
  attach(channel: ByteChannel): void {
    if (this.channel) throw new Error('channel already attached');
    if (this.destroyed) {
      channel.destroy();
      return;
    }
    this.channel = channel;
    channel.on('data', (chunk) => {
      this.touch();
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('end', () => this.push(null));
    channel.on('error', (error) => this.destroy(error));
    channel.on('close', () => {
      this.channelClosed = true;
      this.push(null);
      // Let a reader that is consuming see 'end' first (HTTP needs it to finish a body that ends
      // at connection close); a stream nobody reads can go at once.
      if (this.readableFlowing !== true || this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    });
    this.emit('connect');
    this.touch();
    const resume = this.waitingForChannel;
    this.waitingForChannel = undefined;
    resume?.();
  }

  override _read(): void {
    this.channel?.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const channel = this.channel;
    if (!channel) {
      this.waitingForChannel = () => this._write(chunk, encoding, callback);
      return;
    }
    if (this.channelClosed) {
      callback(new Error('channel closed'));
      return;
    }
    this.touch();
    channel.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.channel) {
      this.waitingForChannel = () => this._final(callback);
      return;
    }
    if (!this.channelClosed) this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearIdleTimer();
    if (this.channel && !this.channelClosed) this.channel.destroy();
    callback(error);
  }

  /** Same contract as net.Socket#setTimeout: 'timeout' after `ms` without traffic; 0 disables. */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms;
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  /**
   * For clients (like pg's `stream` option) that call connect() on the socket they are given:
   * the channel is already open, so report it the way net.Socket does, asynchronously.
   */
  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private touch(): void {
    this.clearIdleTimer();
    if (this.timeout > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.timeout);
      this.idleTimer.unref();
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
