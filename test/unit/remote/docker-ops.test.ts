import { describe, expect, it } from 'vitest';
import { engineMessage } from '../../../src/remote/docker-ops.js';

describe('engineMessage', () => {
  it("prefers the engine's own message over docker-modem's wrapper", () => {
    const error = Object.assign(new Error('(HTTP code 404) no such container - No such container: x '), {
      statusCode: 404,
      json: { message: 'No such container: x' },
    });
    expect(engineMessage(error)).toBe('No such container: x');
    expect(engineMessage(Object.assign(new Error('wrapped'), { json: Buffer.from('plain text body\n') }))).toBe('plain text body');
    expect(engineMessage(new Error('socket hang up'))).toBe('socket hang up');
  });
});
