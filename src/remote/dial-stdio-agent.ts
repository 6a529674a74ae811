/**
 * An http.Agent whose "connections" are streams opened on demand by the caller — over SSH, exec
 * channels running `docker system dial-stdio` on the host's one connection — so dockerode
 * talks to a remote engine without a new SSH connection per request.
 */
import { Agent } from 'node:http';
import type { ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import type { ChannelLimiter } from './channel-limiter.js';
import { ChannelSocket } from './channel-socket.js';
import type { ByteChannel } from './channel-socket.js';

/** Opens the channel behind `socket` (which it may also watch, e.g. to report a failing command). */
export type OpenChannel = (socket: ChannelSocket) => Promise<ByteChannel>;

export interface DialStdioAgentOptions {
  /** Idle kept-alive sockets are closed after this long (default 2 s). */
  idleTimeoutMs?: number;
  /**
   * Most sockets open at once for API requests (default: one less than the channel limit, so a
   * command or tunnel can always get a channel); further requests queue and reuse freed sockets.
   */
  maxSockets?: number;
}

export class DialStdioAgent extends Agent {
  private readonly openChannel: OpenChannel;
  private readonly limiter: ChannelLimiter;

  constructor(openChannel: OpenChannel, limiter: ChannelLimiter, options: DialStdioAgentOptions = {}) {
    super({
      keepAlive: true,
      timeout: options.idleTimeoutMs ?? 2000,
      maxSockets: options.maxSockets ?? Math.max(1, limiter.currentLimit - 1),
      scheduling: 'lifo',
    });
    this.openChannel = openChannel;
    this.limiter = limiter;
    limiter.onPressure = () => this.closeOneIdleSocket();
  }

  /**
   * Returns the socket at once (still connecting) so the Agent counts it against maxSockets and
   * queues further requests instead of opening a channel for each.
   */
  override createConnection(_options: ClientRequestArgs): Duplex {
    const socket = new ChannelSocket();
    this.openChannel(socket).then(
      (channel) => socket.attach(channel),
      (error: unknown) => socket.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return socket;
  }

  /** Keep a finished socket for reuse only when nobody is waiting for a channel slot. */
  override keepSocketAlive(socket: Duplex): boolean {
    if (this.limiter.hasWaiters) return false;
    super.keepSocketAlive(socket);
    return true;
  }

  /** Closes one idle pooled socket, freeing its channel slot. Returns whether there was one. */
  closeOneIdleSocket(): boolean {
    for (const sockets of Object.values(this.freeSockets)) {
      const socket = sockets?.[0];
      if (socket) {
        socket.destroy();
        return true;
      }
    }
    return false;
  }

  /**
   * docker-modem runs util.inspect(requestOptions, { depth: null }) on every request, debug
   * output enabled or not; the options hold this agent, and inspecting its sockets, their SSH
   * channels and the connection behind them cost 15–50 ms per API call. Keep it to one line.
   */
  [inspect.custom](): string {
    return `DialStdioAgent { sockets: ${Object.values(this.sockets).flat().length}, idle: ${this.idleSocketCount} }`;
  }

  get idleSocketCount(): number {
    return Object.values(this.freeSockets).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0);
  }
}
