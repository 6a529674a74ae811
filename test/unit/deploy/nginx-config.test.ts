import { describe, expect, it } from 'vitest';
import { parseNginxTarget, renderNginxSite } from '../../../src/rollout/nginx-config.js';
import { renderEnvFile } from '../../../src/rollout/env-file.js';

describe('nginx site config', () => {
  it('sends all traffic to the one target container and records it', () => {
    const site = renderNginxSite({ container: 'hello-web-abc1234', port: 3000 });
    expect(site).toContain('server hello-web-abc1234:3000 max_fails=0;');
    expect(site).toContain('listen 80 default_server deferred;');
    expect(site).toContain('proxy_pass http://stagecraft_app;');
    expect(parseNginxTarget(site)).toBe('hello-web-abc1234');
  });

  it('listens on the port it is given', () => {
    expect(renderNginxSite({ container: 'a', port: 8080 }, 8081)).toContain('listen 8081 default_server deferred;');
  });

  it('refuses a container name that could inject nginx directives', () => {
    expect(() => renderNginxSite({ container: 'x;} server { listen 81', port: 3000 })).toThrow(/invalid container name/);
    expect(() => renderNginxSite({ container: '', port: 3000 })).toThrow(/invalid container name/);
  });

  it('finds no target in a config stagecraft did not write', () => {
    expect(parseNginxTarget('server { listen 80; }')).toBeUndefined();
  });
});

describe('env file', () => {
  it('renders KEY=value lines, values verbatim', () => {
    expect(renderEnvFile({ A: '1', B: `it's "quoted" $(x); y` })).toBe(`A=1\nB=it's "quoted" $(x); y\n`);
  });

  it('is empty for no variables', () => {
    expect(renderEnvFile({})).toBe('');
  });

  it('refuses values with newlines and bad names instead of truncating', () => {
    expect(() => renderEnvFile({ A: 'line1\nline2' })).toThrow(/A contains a newline/);
    expect(() => renderEnvFile({ 'BAD-NAME': 'x' })).toThrow(/invalid environment variable name: BAD-NAME/);
  });
});
