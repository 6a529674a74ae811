import type { PhaseName } from '../plan/deploy-plan.js';

/** Where progress goes. The executor only talks to this; cli/ picks the renderer. */
export interface Reporter {
  phaseStarted(phase: PhaseName, title: string): void;
  phaseFinished(phase: PhaseName, status: 'completed' | 'failed' | 'skipped' | 'interrupted', detail?: string): void;
  /** A line of progress; `scope` is a host address or a database name. */
  info(phase: PhaseName, line: string, scope?: string): void;
  /** Remote or tool output: shown with --verbose, always for migrations. */
  output(phase: PhaseName, line: string, scope?: string, always?: boolean): void;
  /** A host's state within the rollout. */
  hostUpdate(address: string, status: 'running' | 'completed' | 'failed' | 'skipped', detail?: string): void;
  /** Stops live rendering; resolves once the terminal is left clean. */
  close(): Promise<void>;
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** Plain timestamped lines, for CI, pipes and --verbose. */
export class LineReporter implements Reporter {
  private readonly started = new Map<PhaseName, number>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly verbose: boolean,
    private readonly scrub: (text: string) => string,
  ) {}

  private line(phase: PhaseName, text: string, scope?: string): void {
    this.write(`${timestamp()} ${phase.padEnd(12)} ${scope ? `[${scope}] ` : ''}${this.scrub(text)}`);
  }

  phaseStarted(phase: PhaseName, title: string): void {
    this.started.set(phase, Date.now());
    this.line(phase, `▶ ${title}`);
  }

  phaseFinished(phase: PhaseName, status: 'completed' | 'failed' | 'skipped' | 'interrupted', detail?: string): void {
    const began = this.started.get(phase);
    const took = began === undefined ? '' : ` in ${((Date.now() - began) / 1000).toFixed(1)}s`;
    const mark = status === 'completed' ? '✔' : status === 'skipped' ? '↷' : '✖';
    this.line(phase, `${mark} ${status}${took}${detail ? `: ${detail}` : ''}`);
  }

  info(phase: PhaseName, text: string, scope?: string): void {
    this.line(phase, text, scope);
  }

  output(phase: PhaseName, text: string, scope?: string, always = false): void {
    if (this.verbose || always) this.line(phase, `│ ${text}`, scope);
  }

  hostUpdate(address: string, status: 'running' | 'completed' | 'failed' | 'skipped', detail?: string): void {
    if (status !== 'running') this.line('rollout', `${status}${detail ? `: ${detail}` : ''}`, address);
  }

  async close(): Promise<void> {}
}
