/**
 * POSIX shell quoting for the one place a command line must be a string: the SSH "exec"
 * request, which the remote login shell parses. Every argument is passed through verbatim.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument so a POSIX shell reads it back as exactly this string. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) {
    throw new TypeError('a command argument cannot contain a NUL byte');
  }
  if (SAFE_WORD.test(arg)) return arg;
  // Inside single quotes nothing is special except the closing quote itself:
  // end the quoted run, add an escaped quote, reopen.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Joins an argv array into one shell command line, each argument quoted. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('cannot run an empty command');
  return argv.map(quoteArg).join(' ');
}
