import { describe, expect, it } from 'vitest';
import { formatExecPlan, planAppExec, shownCommand, type ExecPlanInput } from '../../../src/app/exec-plan.js';
import { auditDetail, combinedExitCode, formatHostExits, lineSink } from '../../../src/app/host-output.js';
import { logLines, logsQuery, matchesGrep, mergeLogLines, splitTimestamp } from '../../../src/app/log-lines.js';
import { selectExecHosts, selectLogHosts } from '../../../src/app/select-hosts.js';
import { demuxFrames } from '../../../src/remote/demux.js';
import { UserError } from '../../../src/errors.js';

const hosts = [
  { address: '10.0.0.1', roles: ['primary', 'web'] },
  { address: '10.0.0.2', roles: ['web'] },
  { address: '10.0.0.3', roles: ['worker'] },
];
// A host listing only primary runs web.
const onlyPrimary = [{ address: '10.0.0.1', roles: ['primary'] }, { address: '10.0.0.2', roles: ['worker'] }];

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('no error thrown');
}

describe('app exec host selection', () => {
  it('runs on the primary host by default, every host of the role with --all, one with --host', () => {
    expect(selectExecHosts(hosts, { role: 'web' }, 'prod')).toEqual(['10.0.0.1']);
    expect(selectExecHosts(hosts, { role: 'web', primary: true }, 'prod')).toEqual(['10.0.0.1']);
    expect(selectExecHosts(hosts, { role: 'web', all: true }, 'prod')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(selectExecHosts(hosts, { role: 'web', host: '10.0.0.2' }, 'prod')).toEqual(['10.0.0.2']);
    expect(selectExecHosts(hosts, { role: 'worker', all: true }, 'prod')).toEqual(['10.0.0.3']);
    expect(selectExecHosts(onlyPrimary, { role: 'web', all: true }, 'prod')).toEqual(['10.0.0.1']);
  });

  it('takes the first host of a role the primary does not have', () => {
    expect(selectExecHosts(hosts, { role: 'worker' }, 'prod')).toEqual(['10.0.0.3']);
    expect(message(() => selectExecHosts(hosts, { role: 'worker', primary: true }, 'prod'))).toBe(
      'the primary host 10.0.0.1 of prod does not have role "worker"; hosts with it: 10.0.0.3',
    );
  });

  it('refuses an unknown host (listing the hosts), an unknown role (listing the roles) and two selections', () => {
    expect(message(() => selectExecHosts(hosts, { role: 'web', host: '10.9.9.9' }, 'prod'))).toBe('"10.9.9.9" is not a host of prod; its hosts: 10.0.0.1, 10.0.0.2, 10.0.0.3');
    expect(message(() => selectExecHosts(hosts, { role: 'cron' }, 'prod'))).toBe('no host of prod has role "cron"; roles: web, worker');
    expect(message(() => selectExecHosts(hosts, { role: 'primary' }, 'prod'))).toBe('no host of prod has role "primary"; roles: web, worker');
    expect(message(() => selectExecHosts(hosts, { role: 'web', host: '10.0.0.3' }, 'prod'))).toBe('host 10.0.0.3 of prod does not have role "web"; hosts with it: 10.0.0.1, 10.0.0.2');
    expect(message(() => selectExecHosts(hosts, { role: 'web', host: '10.0.0.1', all: true }, 'prod'))).toBe('pass one of --host, --primary and --all, not --host and --all');
  });

  it('app logs reads every host of the role unless --host names one', () => {
    expect(selectLogHosts(hosts, { role: 'web' }, 'prod')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(selectLogHosts(hosts, { role: 'web', host: '10.0.0.2' }, 'prod')).toEqual(['10.0.0.2']);
  });
});

describe('app exec plan', () => {
  const input: ExecPlanInput = {
    service: 'hello',
    environment: 'prod',
    role: 'web',
    hosts: ['10.0.0.1'],
    command: ['sh', '-c', 'exit 7'],
    reuse: false,
    interactive: false,
    stdinIsTty: false,
    release: { id: 'rel-1', version: 'v1', image: 'reg/hello@sha256:abc' },
  };

  it('a one-off container of the current release\'s digest on the service network, labelled role exec', () => {
    expect(planAppExec(input)).toEqual({
      kind: 'app exec',
      service: 'hello',
      environment: 'prod',
      role: 'web',
      mode: 'one-off',
      hosts: ['10.0.0.1'],
      command: ['sh', '-c', 'exit 7'],
      interactive: false,
      tty: false,
      max_parallel: 8,
      one_off: {
        release: 'rel-1',
        version: 'v1',
        image: 'reg/hello@sha256:abc',
        container_prefix: 'hello-exec',
        network: 'hello-net',
        labels: { 'stagecraft.service': 'hello', 'stagecraft.environment': 'prod', 'stagecraft.version': 'v1', 'stagecraft.role': 'exec' },
      },
    });
    expect(formatExecPlan(planAppExec(input))).toContain('app exec on prod (hello), role web: sh -c "exit 7"');
  });

  it('--reuse needs no release; -i asks for a TTY only when stdin is one', () => {
    const plan = planAppExec({ ...input, reuse: true, release: undefined, interactive: true, stdinIsTty: true });
    expect(plan).toMatchObject({ mode: 'reuse', interactive: true, tty: true });
    expect(plan.one_off).toBeUndefined();
    expect(planAppExec({ ...input, interactive: true }).tty).toBe(false);
  });

  it('refuses a one-off without a release, -i on several hosts, and no command', () => {
    expect(message(() => planAppExec({ ...input, release: undefined }))).toBe('hello has no completed release on prod yet, so there is no image to run the command in');
    expect(message(() => planAppExec({ ...input, interactive: true, hosts: ['a', 'b'] }))).toContain('-i attaches your terminal to one host, and 2 are selected (a, b)');
    expect(message(() => planAppExec({ ...input, command: [] }))).toContain('needs a command after --');
  });

  it('shows the command as typed: plain words bare, others quoted', () => {
    expect(shownCommand(['rails', 'db:migrate', 'a b', 'x"y', 'line\nbreak'])).toBe('rails db:migrate "a b" "x\\"y" "line\\nbreak"');
  });
});

describe('output of several hosts', () => {
  it('writes whole lines only, each prefixed, with secrets scrubbed even across chunks', () => {
    const written: string[] = [];
    const sink = lineSink((text) => written.push(text), (text) => text.replaceAll('s3cret', '[REDACTED]'), '[10.0.0.2] ');
    sink.write('one\ntw');
    sink.write('o s3');
    sink.write('cret\nthree');
    sink.flush();
    expect(written).toEqual(['[10.0.0.2] one\n', '[10.0.0.2] two [REDACTED]\n', '[10.0.0.2] three\n']);
  });

  it('one host: raw, no prefix, no newline added', () => {
    const written: string[] = [];
    const sink = lineSink((text) => written.push(text), (text) => text, '');
    sink.write('a\nb');
    sink.flush();
    expect(written.join('')).toBe('a\nb');
  });

  it('exit code: the first non-zero in host order; each host printed; the audit detail names all', () => {
    const exits = [
      { address: '10.0.0.1', exitCode: 0 },
      { address: '10.0.0.2', exitCode: 7 },
      { address: '10.0.0.3', exitCode: 125, error: 'the command did not run: connection refused' },
    ];
    expect(combinedExitCode(exits)).toBe(7);
    expect(combinedExitCode([{ address: 'a', exitCode: 0 }])).toBe(0);
    expect(formatHostExits(exits)).toBe('[10.0.0.1] exit 0\n[10.0.0.2] exit 7\n[10.0.0.3] exit 125: the command did not run: connection refused\n');
    expect(auditDetail('one-off', exits, 'sh -c "exit 7"')).toBe('one-off exit 7 (10.0.0.1=0 10.0.0.2=7 10.0.0.3=125): sh -c "exit 7"');
  });
});

describe('app logs', () => {
  it('options: tail 100 by default, --since as Unix seconds before now, --grep kept', () => {
    expect(logsQuery({}, 1_000_000)).toEqual({ tail: 100, follow: false });
    expect(logsQuery({ lines: '5', since: '10m', follow: true, grep: 'GET' }, 1_000_000_000)).toEqual({ tail: 5, since: 1_000_000 - 600, follow: true, grep: 'GET' });
    expect(message(() => logsQuery({ lines: '-1' }, 0))).toBe('--lines "-1" is not a number of lines (0 or more)');
    expect(message(() => logsQuery({ since: 'yesterday' }, 0))).toBe('--since "yesterday" is not a duration (examples: 30s, 10m, 2h)');
  });

  it('merges hosts in time order, whatever the length of Docker\'s fraction', () => {
    const a = logLines('10.0.0.1', 'stdout', '2024-05-01T10:00:00.5Z a1\n2024-05-01T10:00:02.000000001Z a2\n');
    const b = logLines('10.0.0.2', 'stderr', '2024-05-01T10:00:00.123456789Z b1\r\n2024-05-01T10:00:01Z b2');
    expect(mergeLogLines([a, b]).map((line) => `${line.address} ${line.stream} ${line.text}`)).toEqual([
      '10.0.0.2 stderr b1',
      '10.0.0.1 stdout a1',
      '10.0.0.2 stderr b2',
      '10.0.0.1 stdout a2',
    ]);
    expect(splitTimestamp('no timestamp here')).toEqual({ time: '', text: 'no timestamp here' });
    expect(matchesGrep({ text: 'GET /up 200' }, 'GET /up')).toBe(true);
    expect(matchesGrep({ text: 'GET /up 200' }, 'get')).toBe(false);
  });

  it('demultiplexes Docker\'s framed stream, and takes unframed output as stdout', () => {
    const frame = (type: number, text: string) => Buffer.concat([Buffer.from([type, 0, 0, 0]), Buffer.from([0, 0, 0, Buffer.byteLength(text)]), Buffer.from(text)]);
    const demuxed = demuxFrames(Buffer.concat([frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')]));
    expect(demuxed.stdout.toString()).toBe('out1\nout2\n');
    expect(demuxed.stderr.toString()).toBe('err1\n');
    expect(demuxFrames(Buffer.from('plain tty output\n')).stdout.toString()).toBe('plain tty output\n');
  });
});
