/**
 * How output from several hosts reaches one terminal: whole lines only (a host's partial line
 * waits for its end, so lines from hosts never interleave mid-line), each prefixed `[address] `,
 * with secrets scrubbed. With one host the output is raw: no prefix, still scrubbed per line.
 */
export type Write = (text: string) => void;

export interface LineSink {
  /** A decoded chunk of the host's output. */
  write(chunk: string): void;
  /** Emits a last line without a newline, if one is pending. */
  flush(): void;
}

/**
 * Splits chunks into lines and writes each whole, `prefix` first. The last line's missing newline
 * is added only when there is a prefix (several hosts' output must stay one line per line).
 */
export function lineSink(write: Write, scrub: (text: string) => string, prefix: string): LineSink {
  let pending = '';
  return {
    write(chunk) {
      pending += chunk;
      const end = pending.lastIndexOf('\n');
      if (end < 0) return;
      const whole = pending.slice(0, end + 1);
      pending = pending.slice(end + 1);
      write(prefix === '' ? scrub(whole) : whole.split(/(?<=\n)/).map((line) => `${prefix}${scrub(line)}`).join(''));
    },
    flush() {
      if (pending === '') return;
      write(prefix === '' ? scrub(pending) : `${prefix}${scrub(pending)}\n`);
      pending = '';
    },
  };
}

/**
 * A TTY's output, written as it comes so prompts and editors work; each chunk is scrubbed, so a
 * secret the program prints in two pieces across chunks is not caught (only with -i on a terminal).
 */
export function rawSink(write: Write, scrub: (text: string) => string): LineSink {
  return {
    write(chunk) {
      write(scrub(chunk));
    },
    flush() {},
  };
}

export function hostPrefix(address: string, several: boolean): string {
  return several ? `[${address}] ` : '';
}

/** What happened on one host. */
export interface HostExit {
  address: string;
  /** The command's exit code, or the code stagecraft gives a host it could not run the command on. */
  exitCode: number;
  /** Why the command did not run (or could not be followed) there. */
  error?: string;
  interrupted?: boolean;
}

/** stagecraft's exit code: the command's own with one host; with several, the first non-zero in host order. */
export function combinedExitCode(exits: readonly HostExit[]): number {
  return exits.find((exit) => exit.exitCode !== 0)?.exitCode ?? 0;
}

/** `[address] exit N` per host (several hosts), with the reason when the command did not run. */
export function formatHostExits(exits: readonly HostExit[]): string {
  return exits
    .map((exit) => `[${exit.address}] exit ${exit.exitCode}${exit.interrupted ? ' (interrupted)' : ''}${exit.error ? `: ${exit.error}` : ''}\n`)
    .join('');
}

/** The audit line's detail: mode, each host's code and the command (scrubbed by the caller). */
export function auditDetail(mode: string, exits: readonly HostExit[], command: string): string {
  return `${mode} exit ${combinedExitCode(exits)} (${exits.map((exit) => `${exit.address}=${exit.exitCode}`).join(' ')}): ${command}`;
}
