/**
 * Prints one line per step with its duration, so slow steps are visible at a glance;
 * `describe` turns the step's result into a short detail ("started pid 42", "already up").
 */
export interface Reporter {
  step<T>(title: string, action: () => Promise<T>, describe?: (result: T) => string): Promise<T>;
  note(message: string): void;
}

export function consoleReporter(prefix = '[testbed]', write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Reporter {
  return {
    async step<T>(title: string, action: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
      const started = performance.now();
      try {
        const result = await action();
        const detail = describe ? describe(result) : typeof result === 'string' ? result : '';
        write(`${prefix} ${title}${detail ? ` (${detail})` : ''} ... ${formatMs(performance.now() - started)}`);
        return result;
      } catch (error) {
        write(`${prefix} ${title} ... FAILED after ${formatMs(performance.now() - started)}`);
        throw error;
      }
    },
    note(message: string): void {
      write(`${prefix} ${message}`);
    },
  };
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
