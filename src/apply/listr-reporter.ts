import { Listr, PRESET_TIMER, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import type { PhaseName } from '../plan/deploy-plan.js';
import { PHASES } from '../plan/deploy-plan.js';
import type { Reporter } from './reporter.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;
type Ending = { status: 'completed' | 'failed' | 'skipped' | 'interrupted'; detail?: string | undefined };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * listr2's live task list for a terminal: one task per phase (spinner, duration) and, during
 * the rollout, one subtask per host. The executor drives it through Reporter events; rendering
 * starts with the first phase, so a command refused before that (lock held) prints no list.
 * Progress display must never break a deploy, so every event handler swallows its own errors.
 */
export class ListrReporter implements Reporter {
  private readonly starts = new Map<PhaseName, Deferred<void>>(PHASES.map((phase) => [phase, deferred<void>()]));
  private readonly ends = new Map<PhaseName, Deferred<Ending>>(PHASES.map((phase) => [phase, deferred<Ending>()]));
  private readonly tasks = new Map<PhaseName, Wrapper>();
  private readonly hostEnds = new Map<string, Deferred<Ending>>();
  private readonly hostTasks = new Map<string, Wrapper>();
  private readonly settled = new Set<Wrapper>();
  /** Lines that arrive when no task is live to show them (e.g. post-deploy hook output); printed at close. */
  private readonly late: string[] = [];
  private running: Promise<unknown> | undefined;
  /** Titles announced before listr2 got round to starting that task. */
  private readonly titles = new Map<PhaseName, string>();

  constructor(
    private readonly scrub: (text: string) => string,
    private readonly hosts: readonly string[],
  ) {
    for (const host of hosts) this.hostEnds.set(host, deferred<Ending>());
  }

  private start(): void {
    if (this.running) return;
    const list = new Listr(
      PHASES.map((phase) => ({
        title: phase,
        rendererOptions: { timer: PRESET_TIMER },
        task: async (_ctx: unknown, task: Wrapper) => {
          this.tasks.set(phase, task);
          const title = this.titles.get(phase);
          if (title) task.title = title;
          if (phase === 'rollout') {
            const first = await Promise.race([this.starts.get(phase)!.promise.then(() => undefined), this.ends.get(phase)!.promise]);
            if (first) return this.settle(task, first);
            return this.hostList(task);
          }
          return this.settle(task, await this.ends.get(phase)!.promise);
        },
      })),
      {
        concurrent: false,
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: { collapseSubtasks: false, showErrorMessage: true },
        renderer: 'default',
      },
    );
    this.running = list.run().catch(() => undefined);
  }

  private hostList(task: Wrapper) {
    return task.newListr(
      this.hosts.map((host) => ({
        title: host,
        rendererOptions: { timer: PRESET_TIMER },
        task: async (_ctx: unknown, sub: Wrapper) => {
          this.hostTasks.set(host, sub);
          const phaseEnd = this.ends.get('rollout')!.promise.then((ending) => ({ ...ending, detail: undefined }));
          return this.settle(sub, await Promise.race([this.hostEnds.get(host)!.promise, phaseEnd]));
        },
      })),
      { concurrent: true, exitOnError: false },
    );
  }

  private settle(task: Wrapper, ending: Ending): void {
    this.settled.add(task);
    if (ending.status === 'skipped') {
      task.skip(ending.detail ? `${task.title}: ${this.scrub(ending.detail)}` : task.title);
      return;
    }
    // One line here; the full message (with output tails and hints) is printed once at the end.
    if (ending.status !== 'completed') throw new Error(this.scrub((ending.detail ?? ending.status).split('\n')[0] ?? ending.status));
    if (ending.detail) task.title = `${task.title}: ${this.scrub(ending.detail)}`;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      // A rendering problem must not abort a deploy that is changing hosts.
    }
  }

  phaseStarted(phase: PhaseName, title: string): void {
    this.guard(() => {
      this.start();
      this.starts.get(phase)?.resolve();
      this.titles.set(phase, title);
      const task = this.tasks.get(phase);
      if (task) task.title = title;
    });
  }

  phaseFinished(phase: PhaseName, status: Ending['status'], detail?: string): void {
    this.guard(() => {
      this.start();
      this.ends.get(phase)?.resolve({ status, detail });
    });
  }

  info(phase: PhaseName, line: string, scope?: string): void {
    this.guard(() => {
      const target = phase === 'rollout' && scope ? this.hostTasks.get(scope) : this.tasks.get(phase);
      const text = this.scrub(scope && phase !== 'rollout' ? `[${scope}] ${line}` : line);
      if (target && !this.settled.has(target)) target.output = text;
      else this.late.push(`${phase} ${text}`);
    });
  }

  output(phase: PhaseName, line: string, scope?: string, always = false): void {
    if (always) this.info(phase, line, scope);
  }

  hostUpdate(address: string, status: 'running' | 'completed' | 'failed' | 'skipped', detail?: string): void {
    if (status === 'running') return;
    this.guard(() => this.hostEnds.get(address)?.resolve({ status, detail }));
  }

  async close(): Promise<void> {
    if (!this.running) return;
    for (const [phase, end] of this.ends) end.resolve({ status: 'skipped', detail: `${phase} not reached` });
    for (const end of this.hostEnds.values()) end.resolve({ status: 'skipped' });
    await this.running;
    for (const line of this.late) process.stdout.write(`${line}\n`);
  }
}
