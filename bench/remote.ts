/**
 * Latency of the remote layer on the testbed: Docker API calls over the one pooled SSH
 * connection (dial-stdio channels) vs a fresh `ssh … docker version` per call, and how many SSH
 * connections each host's sshd accepted during the pooled run (target: 1).
 *
 *   npx tsx bench/remote.ts [--calls 50] [--cli-calls 20]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HostPool } from '../src/remote/connect.js';
import type { Host } from '../src/remote/host.js';
import { acceptedConnections, readTestbedState, sshArgv } from '../test/e2e/helpers/testbed-state.js';

const execFileAsync = promisify(execFile);

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (n: number) => n.toFixed(1).padStart(8);
  return `  ${label.padEnd(44)} n=${String(samples.length).padStart(3)}  median ${fmt(percentile(sorted, 50))} ms  p90 ${fmt(percentile(sorted, 90))} ms`;
}

async function timed(times: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples;
}

async function main(): Promise<void> {
  const calls = option('calls', 50);
  const cliCalls = option('cli-calls', 20);
  const state = readTestbedState();
  const ssh = { user: state.ssh.user, keys: [state.ssh.key], known_hosts: state.ssh.known_hosts };
  const hosts = state.hosts;
  const pool = new HostPool(ssh, { agentSocket: null }, hosts.map((h) => ({ address: h.address, port: h.port })));

  console.log(`remote bench: ${hosts.length} hosts, ${calls} pooled calls per kind, ${cliCalls} CLI calls per host\n`);
  const accepted: string[] = [];
  try {
    for (const testbedHost of hosts) {
      const before = acceptedConnections(testbedHost);
      const connectStart = process.hrtime.bigint();
      const host: Host = await pool.get(testbedHost.address);
      const connectMs = Number(process.hrtime.bigint() - connectStart) / 1e6;
      const dockerStart = process.hrtime.bigint();
      const docker = await host.docker();
      const dockerMs = Number(process.hrtime.bigint() - dockerStart) / 1e6;

      const version = await timed(calls, () => docker.version());
      const list = await timed(calls, () => docker.listContainers({ all: true }));
      const exec = await timed(calls, () => host.exec(['true']));
      // The first parallel burst opens extra dial-stdio channels (one `docker` process each on the
      // host); the second reuses them while they are kept alive.
      const parallel = await timed(2, () => Promise.all(Array.from({ length: calls }, () => docker.version())));
      const afterPooled = acceptedConnections(testbedHost);

      const cli = await timed(cliCalls, () =>
        execFileAsync('ssh', [...sshArgv(state, testbedHost), 'docker', 'version', '--format', "'{{.Server.Version}}'"]),
      );
      const afterCli = acceptedConnections(testbedHost);

      console.log(`${testbedHost.name} (${testbedHost.address})`);
      console.log(`  connect (TCP + SSH handshake + auth)          ${connectMs.toFixed(1)} ms`);
      console.log(`  first docker() (engine check over exec)      ${dockerMs.toFixed(1)} ms`);
      console.log(summary('docker.version() over the pooled connection', version));
      console.log(summary('docker.listContainers() pooled', list));
      console.log(summary('exec(["true"]) pooled', exec));
      console.log(`  ${calls} docker.version() in parallel              ${parallel[0]?.toFixed(1)} ms total (cold), ${parallel[1]?.toFixed(1)} ms (warm)`);
      console.log(summary('fresh `ssh … docker version` per call (CLI)', cli));
      console.log('');
      accepted.push(
        `  ${testbedHost.name}: ${afterPooled - before} during the pooled run (${calls * 5 + 1} calls)   ` +
          `${afterCli - afterPooled} during ${cliCalls} CLI calls`,
      );
    }
  } finally {
    await pool.close();
  }
  console.log('SSH connections accepted by each sshd (target for the pooled run: 1)');
  for (const line of accepted) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
