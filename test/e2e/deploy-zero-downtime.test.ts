/**
 * Zero downtime: clients keep requesting through each host's proxy while a new version rolls
 * out; not one request may fail, and the answers move from the old version to the new one.
 * (Counts failures, not time: the machine's speed does not decide the result.)
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, servedVersions, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8160;
const CLIENTS_PER_HOST = 4;
/** Answers in a row from the new version after which an old one would be a flip back. */
const SETTLED = 20;
const service = uniqueService('e2ez');

let state: TestbedState;
let hosts: string[];
let project: TestProject;

/**
 * One GET on a new connection. (Kept-alive connections are a different story: nginx closes idle
 * ones as its old workers exit after a reload, and a request racing that close must be retried by
 * the client, as browsers do; `npm run bench:proxy-switch` counts both kinds.)
 */
function get(address: string): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: address, port: PROXY_PORT, path: '/', timeout: 10_000, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ ok: res.statusCode === 200, body: res.statusCode === 200 ? body : `HTTP ${res.statusCode}: ${body}` }));
      res.on('error', (error) => resolve({ ok: false, body: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, body: `${new Date().toISOString().slice(11, 23)} ${error.code ?? ''} ${error.message}` }));
    req.end();
  });
}

/** Requests in a loop until `done` resolves (and at most `limit` each): bounded in count and time. */
async function load(address: string, done: Promise<unknown>, limit = 20_000) {
  let finished = false;
  void done.finally(() => (finished = true));
  const failures: string[] = [];
  let total = 0;
  // Per client, the versions it was answered with, in order, as runs: [['z1', 40], ['z2', 12]].
  const runsPerClient = await Promise.all(
    Array.from({ length: CLIENTS_PER_HOST }, async () => {
      const runs: Array<[string, number]> = [];
      for (let i = 0; i < limit && !finished; i++) {
        const answer = await get(address);
        total++;
        if (!answer.ok) failures.push(answer.body.slice(0, 200));
        const version = answer.ok ? (answer.body.match(/version (\S+)/)?.[1] ?? 'unknown') : 'failed';
        const last = runs.at(-1);
        if (last?.[0] === version) last[1]++;
        else runs.push([version, 1]);
      }
      return runs;
    }),
  );
  return { total, failures, runsPerClient };
}

beforeAll(async () => {
  state = readTestbedState();
  hosts = state.hosts.slice(0, 2).map((host) => host.address);
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { e2e: hosts }, drainTimeout: '1s' }, state);
  const first = await project.run(['deploy', '--env', 'e2e', '--version', 'z1']);
  expect(first.exitCode, first.stdout + first.stderr).toBe(0);
  const second = await project.run(['deploy', '--env', 'e2e', '--version', 'z2']);
  expect(second.exitCode, second.stdout + second.stderr).toBe(0);
});

afterAll(async () => {
  await project?.cleanup();
});

describe('zero-downtime switch through the nginx proxy', () => {
  it('serves every request while deploying and rolling back, old version then new', async () => {
    for (const [args, from, to] of [
      [['rollback', '--env', 'e2e', '--to', 'previous'], 'z2', 'z1'],
      [['deploy', '--env', 'e2e', '--version', 'z2', '--skip-build'], 'z1', 'z2'],
    ] as const) {
      expect(await servedVersions(hosts, PROXY_PORT)).toEqual(Object.fromEntries(hosts.map((h) => [h, from])));
      const command = project.run([...args]);
      const [result, ...loads] = await Promise.all([command, ...hosts.map((address) => load(address, command))]);
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      for (const outcome of loads) {
        expect(outcome.failures, `failed requests during ${args.join(' ')}`).toEqual([]);
        expect(outcome.total).toBeGreaterThan(0);
        // Every client was answered by the old version first and the new one last. While nginx
        // reloads, its old workers may still accept a few connections (seen: up to 4 answers in
        // a row); once the new version has answered SETTLED times in a row it never flips back.
        for (const runs of outcome.runsPerClient) {
          const trace = JSON.stringify(runs);
          expect(runs[0]?.[0], trace).toBe(from);
          expect(runs.at(-1)?.[0], trace).toBe(to);
          expect(runs.every(([version]) => version === from || version === to), trace).toBe(true);
          const settled = runs.findIndex(([version, count]) => version === to && count >= SETTLED);
          expect(settled, trace).toBeGreaterThan(0);
          expect(runs.slice(settled).every(([version]) => version === to), `flipped back after settling: ${trace}`).toBe(true);
        }
      }
      expect(await servedVersions(hosts, PROXY_PORT)).toEqual(Object.fromEntries(hosts.map((h) => [h, to])));
    }
  });
});
