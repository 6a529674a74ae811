/** Docker's stream formats, as bytes. Pure. */

/**
 * Docker's multiplexed stream format (a container without a TTY): frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian length) and the payload. Output that does not start with
 * a valid header is a TTY container's raw output, all stdout.
 */
export function demuxFrames(buffer: Buffer): { stdout: Buffer; stderr: Buffer } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset]!;
    const valid = type <= 2 && buffer[offset + 1] === 0 && buffer[offset + 2] === 0 && buffer[offset + 3] === 0;
    if (!valid) {
      if (offset === 0) return { stdout: buffer, stderr: Buffer.alloc(0) };
      break;
    }
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size);
    (type === 2 ? stderr : stdout).push(payload);
    offset += 8 + size;
  }
  if (offset === 0 && buffer.length > 0 && buffer.length < 8) return { stdout: buffer, stderr: Buffer.alloc(0) };
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}
