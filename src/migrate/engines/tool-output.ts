/** Reading migration tools' text output. */

// Terminal colour and cursor sequences (CSI), which some tools print even into a pipe.
const ANSI_SEQUENCE = new RegExp(String.raw`\u001b\[[0-9;?]*[ -/]*[@-~]`, 'g');

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}

/** Lines without colour codes, carriage returns or trailing blanks. */
export function outputLines(text: string): string[] {
  return stripAnsi(text)
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trimEnd());
}

/** The last non-empty lines, for an error message. */
export function lastMeaningfulLines(text: string, count = 3): string {
  return outputLines(text)
    .filter((line) => line.trim() !== '' && !/^\s+at /.test(line))
    .slice(-count)
    .join(' | ');
}

/** Calls `onLine` per complete line of a chunked stream. */
export function lineSplitter(onLine: (line: string) => void): { write: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    write(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(stripAnsi(line.replace(/\r$/, '')));
    },
    flush() {
      if (pending !== '') onLine(stripAnsi(pending));
      pending = '';
    },
  };
}
