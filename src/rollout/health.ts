import { request } from 'node:http';
import type { Duplex } from 'node:stream';

export type TcpConnector = (address: string, port: number) => Promise<Duplex>;

export interface HealthProbeResult {
  ok: boolean;
  detail: string;
}

/** One HTTP GET through a connector (an SSH tunnel to the host, or a local socket). */
export async function probeHttp(connect: TcpConnector, address: string, port: number, path: string, timeoutMs: number): Promise<HealthProbeResult> {
  let socket: Duplex;
  try {
    socket = await connect(address, port);
  } catch (error) {
    const hint = (error as { hint?: unknown }).hint;
    return { ok: false, detail: `cannot connect to ${address}:${port}: ${(error as Error).message}${typeof hint === 'string' ? ` (${hint})` : ''}` };
  }
  return new Promise((resolve) => {
    const req = request(
      {
        host: address,
        port,
        path,
        method: 'GET',
        headers: { 'user-agent': 'stagecraft-healthcheck', connection: 'close' },
        createConnection: () => socket as never,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => socket.destroy());
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, detail: `GET ${path} answered ${status}` });
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on('error', (error) => {
      socket.destroy();
      resolve({ ok: false, detail: `GET ${path} failed: ${error.message}` });
    });
    req.end();
  });
}
