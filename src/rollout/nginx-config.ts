/**
 * The nginx site config stagecraft writes into the proxy container. The proxy sends all traffic
 * to exactly one app container; a switch rewrites this file and reloads nginx gracefully, so
 * in-flight requests finish on the old workers while new ones reach the new container.
 */
export const NGINX_SITE_PATH = '/etc/nginx/conf.d/default.conf';
const TARGET_MARKER = '# stagecraft-target: ';

export interface ProxyTarget {
  container: string;
  port: number;
}

export function renderNginxSite(target: ProxyTarget, listenPort = 80): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(target.container)) {
    throw new Error(`invalid container name for the proxy target: ${target.container}`);
  }
  return [
    '# Written by stagecraft; it is rewritten on every deploy.',
    `${TARGET_MARKER}${target.container}`,
    'upstream stagecraft_app {',
    `  server ${target.container}:${target.port} max_fails=0;`,
    '  keepalive 32;',
    '}',
    'server {',
    // deferred: a connection reaches nginx only once its request has arrived, so a worker that is
    // shutting down after a reload never holds an accepted-but-unread (idle) connection it would close.
    `  listen ${listenPort} default_server deferred;`,
    '  client_max_body_size 64m;',
    '  location / {',
    '    proxy_pass http://stagecraft_app;',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection "";',
    '    proxy_set_header Host $host;',
    '    proxy_set_header X-Real-IP $remote_addr;',
    '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '    proxy_next_upstream error timeout http_502;',
    '    proxy_connect_timeout 5s;',
    '    proxy_read_timeout 60s;',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The container a site config points at, if it is one stagecraft wrote. */
export function parseNginxTarget(config: string): string | undefined {
  for (const line of config.split('\n')) {
    if (line.startsWith(TARGET_MARKER)) return line.slice(TARGET_MARKER.length).trim() || undefined;
  }
  return undefined;
}
