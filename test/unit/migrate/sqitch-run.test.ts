import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sqitchEngine } from '../../../src/migrate/engines/sqitch.js';
import type { EngineTarget } from '../../../src/migrate/types.js';
import type { Host } from '../../../src/remote/host.js';
import type { OneOffSpec } from '../../../src/remote/docker-ops.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/sqitch/${name}`, import.meta.url), 'utf8');
const PLAN = '085478 deploy appschema\nf39f9b deploy users\n9f5b2d deploy flips\n';

/** A primary host whose one-off containers answer each sqitch command from `answers`, recording what ran. */
function fakeHost(answers: (cmd: string) => string): { host: Host; ran: string[]; removed: string[] } {
  const ran: string[] = [];
  const removed: string[] = [];
  let statusReads = 0;
  const ops = {
    pullImage: async () => undefined,
    removeContainer: async (name: string) => {
      removed.push(name);
    },
    runOneOff: async (spec: OneOffSpec) => {
      const cmd = (spec.cmd ?? []).join(' ');
      ran.push(cmd);
      const stdout = cmd.startsWith('sqitch status') ? answers(`${cmd}#${statusReads++}`) : answers(cmd);
      return { exitCode: 0, timedOut: false, stdoutTail: stdout, stderrTail: '', containerId: 'c' };
    },
  };
  const host = { name: 'primary', kind: 'ssh', dockerOps: async () => ops } as unknown as Host;
  return { host, ran, removed };
}

function target(host: Host): EngineTarget {
  return {
    database: 'app',
    migrations: { engine: 'sqitch' },
    url: 'postgres://u:p@db:5432/app',
    configDir: '/nowhere',
    service: 'shop',
    environment: 'prod',
    actor: 'tester',
    host: async () => host,
    image: { ref: 'registry/shop:v1' },
    pullImage: false,
    appEnv: {},
    containerName: 'shop-migrate-app-v1',
    log: () => undefined,
    scrub: (text) => text,
  };
}

describe('sqitch run', () => {
  it('checks, reads the status before and after, and the plan only once; reports what the deploy applied', async () => {
    const { host, ran, removed } = fakeHost((cmd) => {
      if (cmd === 'sqitch check') return fixture('check-ok.out');
      if (cmd === 'sqitch status --show-changes#0') return fixture('status-partial.out');
      if (cmd === 'sqitch status --show-changes#1') return fixture('status-uptodate.out');
      if (cmd === 'sqitch plan --oneline --no-headers') return PLAN;
      if (cmd === 'sqitch deploy') return fixture('deploy.out');
      throw new Error(`unexpected command ${cmd}`);
    });
    const outcome = await sqitchEngine.run(target(host), { timeoutMs: 60_000, lockTimeoutMs: 60_000 });
    expect(outcome).toEqual({ status: 'completed', migrations: [{ id: 'flips', outcome: 'applied' }], notes: [] });
    expect(ran).toEqual([
      'sqitch check',
      'sqitch status --show-changes',
      'sqitch plan --oneline --no-headers',
      'sqitch deploy',
      'sqitch check',
      'sqitch status --show-changes',
    ]);
    // Only the apply container has a fixed name a leftover could hold; status containers get fresh ones.
    expect(removed).toEqual(['shop-migrate-app-v1']);
  });
});
