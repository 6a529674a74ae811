import { createServer, request } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelLimiter } from '../../../src/remote/channel-limiter.js';
import { DialStdioAgent } from '../../../src/remote/dial-stdio-agent.js';
import type { DialStdioAgentOptions } from '../../../src/remote/dial-stdio-agent.js';
import { waitUntil } from '../../helpers/wait.js';

const polling = { timeoutMs: 5_000, intervalMs: 5 };

// Stand-ins for the SSH side: each "channel" is a TCP connection to a local server, opened
// under the same limiter the SSH host uses. The agent logic under test is the real one.

let servers: Array<Server | TcpServer> = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  servers = [];
});

async function listen<S extends Server | TcpServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const opened = { now: 0, peak: 0, total: 0 };

function channelOpener(port: number, limiter: ChannelLimiter) {
  opened.now = 0;
  opened.peak = 0;
  opened.total = 0;
  return async (): Promise<Socket> => {
    const release = await limiter.acquire();
    const raw = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    opened.now += 1;
    opened.total += 1;
    opened.peak = Math.max(opened.peak, opened.now);
    raw.once('close', () => {
      opened.now -= 1;
      release();
    });
    return raw;
  };
}

function get(agent: DialStdioAgent, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'docker', port: 2375, path, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An agent (under a limiter of `limit` channels) whose channels reach a server answering `pong`. */
async function pongAgent(limit: number, options: DialStdioAgentOptions = {}): Promise<{ agent: DialStdioAgent; limiter: ChannelLimiter }> {
  const port = await listen(createServer((_req, res) => res.end('pong')));
  const limiter = new ChannelLimiter(limit);
  return { agent: new DialStdioAgent(channelOpener(port, limiter), limiter, options), limiter };
}

describe('DialStdioAgent', () => {
  it('keeps within the channel limit under concurrent requests and completes them all', async () => {
    // Answers nothing until two requests are in flight at once, so both channels are proven busy
    // together; after that it answers at once.
    const held: Array<() => void> = [];
    let gateOpen = false;
    const server = createServer((req, res) => {
      const answer = () => res.end(`ok ${req.url}`);
      if (gateOpen) return answer();
      held.push(answer);
      if (held.length === 2) {
        gateOpen = true;
        for (const release of held.splice(0)) release();
      }
    });
    const port = await listen(server);
    const limiter = new ChannelLimiter(3);
    const agent = new DialStdioAgent(channelOpener(port, limiter), limiter);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => get(agent, `/r${i}`)));
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 12 }, (_, i) => `ok /r${i}`));
    // maxSockets defaults to limit - 1 (a slot stays free for commands); queued requests reuse sockets
    expect(opened.peak).toBe(2);
    expect(opened.total).toBe(2);
    agent.destroy();
  });

  it('reuses one kept-alive channel for sequential requests', async () => {
    let connections = 0;
    const server = createServer((_req, res) => res.end('pong'));
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    const limiter = new ChannelLimiter(4);
    const agent = new DialStdioAgent(channelOpener(port, limiter), limiter);
    for (let i = 0; i < 10; i += 1) expect((await get(agent, '/ping')).body).toBe('pong');
    expect(connections).toBe(1);
    expect(agent.idleSocketCount).toBe(1);
    agent.destroy();
  });

  it('gives up an idle channel when other work needs the slot (no deadlock)', async () => {
    const { agent, limiter } = await pongAgent(1, { idleTimeoutMs: 60_000 });
    await get(agent, '/ping');
    expect(agent.idleSocketCount).toBe(1);
    expect(limiter.activeCount).toBe(1);
    // Someone else (an exec) now needs the only slot; the idle API channel must make way.
    const release = await limiter.acquire();
    expect(agent.idleSocketCount).toBe(0);
    // ...and the agent can still work once the slot is free again.
    const pending = get(agent, '/again');
    release();
    expect((await pending).body).toBe('pong');
    agent.destroy();
  });

  it('closes idle channels after the idle timeout', async () => {
    const { agent, limiter } = await pongAgent(2, { idleTimeoutMs: 50 });
    await get(agent, '/ping');
    expect(agent.idleSocketCount).toBe(1);
    expect(limiter.activeCount).toBe(1);
    await waitUntil('the idle channel to close', () => agent.idleSocketCount === 0, polling);
    await waitUntil('its slot to be given back', () => limiter.activeCount === 0, polling);
    expect(opened.total).toBe(1);
    agent.destroy();
  });

  it('completes a response whose body ends when the channel closes (like attach)', async () => {
    const raw = createTcpServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n');
        socket.write('first ');
        setTimeout(() => socket.end('last'), 20);
      });
    });
    const port = await listen(raw);
    const limiter = new ChannelLimiter(2);
    const agent = new DialStdioAgent(channelOpener(port, limiter), limiter);
    const result = await get(agent, '/containers/x/attach');
    expect(result).toEqual({ status: 200, body: 'first last' });
    // The channel ended with the body: its slot comes back (not kept alive for reuse).
    await waitUntil('the slot to be given back', () => limiter.activeCount === 0, polling);
    expect(agent.idleSocketCount).toBe(0);
    agent.destroy();
  });

  it('stays cheap to inspect (docker-modem inspects request options on every call)', async () => {
    const { agent } = await pongAgent(4);
    await Promise.all(Array.from({ length: 3 }, () => get(agent, '/ping')));
    expect(inspect({ agent }, { showHidden: true, depth: null })).toBe('{ agent: DialStdioAgent { sockets: 0, idle: 3 } }');
    agent.destroy();
  });

  it('reports a channel that cannot be opened as a request error', async () => {
    const limiter = new ChannelLimiter(2);
    const agent = new DialStdioAgent(async () => {
      throw new Error('docker: command not found');
    }, limiter);
    await expect(get(agent, '/version')).rejects.toThrow('docker: command not found');
    agent.destroy();
  });
});
