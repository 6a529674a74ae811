import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
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
 * the rollout, one subtask per host. The executor drives it through the Reporter events.
 */
export class ListrReporter implements Reporter {
  private readonly ends = new Map<PhaseName, Deferred<Ending>>(PHASES.map((phase) => [phase, deferred<Ending>()]));
  private readonly tasks = new Map<PhaseName, Wrapper>();
  private readonly hostEnds = new Map<string, Deferred<Ending>>();
  private readonly hostTasks = new Map<string, Wrapper>();
  private readonly running: Promise<unknown>;

  constructor(
    private readonly scrub: (text: string) => string,
    private readonly hosts: readonly string[],
  ) {
    for (const host of hosts) this.hostEnds.set(host, deferred<Ending>());
    const list = new Listr(
      PHASES.map((phase) => ({
        title: phase,
        task: async (_ctx: unknown, task: Wrapper) => {
          this.tasks.set(phase, task);
          if (phase === 'rollout') return this.hostList(task);
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
        task: async (_ctx: unknown, sub: Wrapper) => {
          this.hostTasks.set(host, sub);
          const phaseEnd = this.ends.get('rollout')!.promise.then((ending) => ({ ...ending, detail: undefined }));
          const ending = await Promise.race([this.hostEnds.get(host)!.promise, phaseEnd]);
          return this.settle(sub, ending);
        },
      })),
      { concurrent: true, exitOnError: false },
    );
  }

  private settle(task: Wrapper, ending: Ending): void {
    if (ending.status === 'skipped') {
      task.skip(ending.detail ? `${task.title}: ${ending.detail}` : task.title);
      return;
    }
    if (ending.status !== 'completed') throw new Error(this.scrub(ending.detail ?? ending.status));
    if (ending.detail) task.title = `${task.title}: ${this.scrub(ending.detail)}`;
  }

  phaseStarted(phase: PhaseName, title: string): void {
    const task = this.tasks.get(phase);
    if (task) task.title = title;
  }

  phaseFinished(phase: PhaseName, status: Ending['status'], detail?: string): void {
    this.ends.get(phase)?.resolve({ status, detail });
  }

  info(phase: PhaseName, line: string, scope?: string): void {
    const target = phase === 'rollout' && scope ? this.hostTasks.get(scope) : this.tasks.get(phase);
    if (target) target.output = this.scrub(scope && !(phase === 'rollout') ? `[${scope}] ${line}` : line);
  }

  output(phase: PhaseName, line: string, scope?: string, always = false): void {
    if (always) this.info(phase, line, scope);
  }

  hostUpdate(address: string, status: 'running' | 'completed' | 'failed' | 'skipped', detail?: string): void {
    if (status === 'running') return;
    this.hostEnds.get(address)?.resolve({ status, detail });
  }

  async close(): Promise<void> {
    for (const [phase, end] of this.ends) end.resolve({ status: 'skipped', detail: `${phase} not reached` });
    for (const end of this.hostEnds.values()) end.resolve({ status: 'skipped' });
    await this.running;
  }
}
