/**
 * How many requests fail while the nginx proxy reloads: 8 clients hammer one host's proxy while
 * `nginx -s reload` runs every 300 ms, once with a new connection per request and once with
 * kept-alive connections. Prints counts; asserts nothing. Needs the demo deployed (`npm run demo`).
 *
 *   npx tsx bench/proxy-switch.ts [--host 10.201.0.11] [--container hello-proxy] [--seconds 8]
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { readTestbedState } from '../test/e2e/helpers/testbed-state.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '10.201.0.11' }, container: { type: 'string', default: 'hello-proxy' }, seconds: { type: 'string', default: '8' } },
});
const host = values.host!;
const state = readTestbedState();
const sshArgs = ['-i', state.ssh.key, '-o', `UserKnownHostsFile=${state.ssh.known_hosts}`, '-o', 'BatchMode=yes', `${state.ssh.user}@${host}`];

function get(agent: Agent | false): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port: 80, path: '/', agent, headers: agent ? {} : { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code} ${error.message}${req.reusedSocket ? ' (on a reused kept-alive connection)' : ''}`));
    req.end();
  });
}

async function run(mode: 'new connection per request' | 'kept-alive connections') {
  const agent = mode === 'kept-alive connections' ? new Agent({ keepAlive: true, maxSockets: 8 }) : false;
  const deadline = Date.now() + Number(values.seconds) * 1000;
  const failures = new Map<string, number>();
  let total = 0;
  let reloads = 0;
  const clients = Array.from({ length: 8 }, async () => {
    while (Date.now() < deadline) {
      const failure = await get(agent);
      total++;
      if (failure) failures.set(failure, (failures.get(failure) ?? 0) + 1);
    }
  });
  const reloader = (async () => {
    while (Date.now() < deadline) {
      await new Promise((resolve) => execFile('ssh', [...sshArgs, 'docker', 'exec', values.container!, 'nginx', '-s', 'reload'], resolve));
      reloads++;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  await Promise.all([...clients, reloader]);
  if (agent) agent.destroy();
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  console.log(`${mode.padEnd(28)} ${String(total).padStart(7)} requests, ${String(reloads).padStart(3)} reloads, ${failed} failed`);
  for (const [what, count] of failures) console.log(`    ${count} × ${what}`);
}

const probe = await get(false);
if (probe) {
  console.error(`http://${host}/ does not answer (${probe}): deploy the demo first (npm run demo)`);
  process.exit(1);
}
await run('new connection per request');
await run('kept-alive connections');
console.log('A kept-alive connection that nginx closes as an old worker exits races the next request on it;');
console.log('clients retry such idempotent requests (browsers do, Node documents req.reusedSocket for it).');
