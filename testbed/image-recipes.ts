import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TestbedError, binary, run } from './exec.js';
import { REGISTRY_SERVER } from './registry.js';

/**
 * A base image assembled FROM scratch out of this machine's own files (no internet registry
 * is reachable): binaries plus the libraries `ldd` lists, a few generated files, symlinks.
 */
export interface ImageRecipe {
  key: 'busybox' | 'node' | 'nginx';
  /** Reference in the testbed registry, identical for the operator and every host. */
  ref: string;
  /** Extra local tags on the operator engine, so real Dockerfiles (`FROM node:20-slim`) build. */
  aliases: string[];
  files: Array<{ source: string; target: string }>;
  trees: Array<{ source: string; target: string }>;
  generated: Array<{ target: string; content: string }>;
  symlinks: Array<{ target: string; pointsTo: string }>;
  dirs: Array<{ target: string; mode: number }>;
  dockerfileTail: string[];
}

const BUSYBOX_SOURCE = '/bin/busybox';

function registryRef(repository: string, tag: string): string {
  return `${REGISTRY_SERVER}/testbed/${repository}:${tag}`;
}

/** Absolute paths of the shared libraries (and the loader) a dynamic binary needs. */
async function sharedLibraries(binaryPath: string): Promise<string[]> {
  const { stdout, exitCode } = await run('ldd', [binaryPath], { allowFailure: true });
  if (exitCode !== 0) return [];
  const libraries = new Set<string>();
  for (const line of stdout.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) libraries.add(match[1]);
  }
  return [...libraries];
}

async function binaryWithLibraries(source: string, target: string): Promise<Array<{ source: string; target: string }>> {
  const libraries = await sharedLibraries(source);
  return [{ source, target }, ...libraries.map((library) => ({ source: library, target: library }))];
}

/** busybox-static's applet list → symlinks like /bin/sh -> /bin/busybox (no RUN step needed). */
async function busyboxApplets(): Promise<Array<{ target: string; pointsTo: string }>> {
  const { stdout } = await run(BUSYBOX_SOURCE, ['--list-full']);
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== 'bin/busybox')
    .map((line) => ({ target: `/${line}`, pointsTo: '/bin/busybox' }));
}

async function assertStaticBusybox(): Promise<void> {
  if ((await sharedLibraries(BUSYBOX_SOURCE)).length > 0) {
    throw new TestbedError(`${BUSYBOX_SOURCE} is dynamically linked`, 'apt-get install -y busybox-static');
  }
}

const BASE_DIRS = [
  { target: '/tmp', mode: 0o1777 },
  { target: '/root', mode: 0o700 },
];

function passwdFiles(users: ReadonlyArray<{ name: string; id: number; home: string }>): Array<{ target: string; content: string }> {
  const all = [{ name: 'root', id: 0, home: '/root' }, ...users, { name: 'nobody', id: 65534, home: '/nonexistent' }];
  return [
    { target: '/etc/passwd', content: all.map((user) => `${user.name}:x:${user.id}:${user.id === 65534 ? 65534 : user.id}:${user.name}:${user.home}:/bin/sh\n`).join('') },
    { target: '/etc/group', content: all.map((user) => `${user.id === 65534 ? 'nogroup' : user.name}:x:${user.id}:\n`).join('') },
  ];
}

export async function busyboxRecipe(): Promise<ImageRecipe> {
  await assertStaticBusybox();
  return {
    key: 'busybox',
    ref: registryRef('busybox', 'latest'),
    aliases: [],
    files: [{ source: BUSYBOX_SOURCE, target: '/bin/busybox' }],
    trees: [],
    generated: passwdFiles([]),
    symlinks: await busyboxApplets(),
    dirs: BASE_DIRS,
    dockerfileTail: ['CMD ["sh"]'],
  };
}

/** The machine's node (and npm when present) in the layout of the official image. */
export async function nodeRecipe(): Promise<ImageRecipe> {
  const nodeBinary = realpathSync(binary('node'));
  const version = (await run(nodeBinary, ['--version'])).stdout.trim().replace(/^v/, '');
  const npmCli = findNpm(nodeBinary);
  return {
    key: 'node',
    ref: registryRef('node', '20-slim'),
    aliases: ['node:20-slim'],
    files: [...(await binaryWithLibraries(nodeBinary, '/usr/local/bin/node')), { source: BUSYBOX_SOURCE, target: '/bin/busybox' }],
    trees: npmCli ? [{ source: npmCli, target: '/usr/local/lib/node_modules/npm' }] : [],
    generated: passwdFiles([{ name: 'node', id: 1000, home: '/home/node' }]),
    symlinks: [
      ...(await busyboxApplets()),
      ...(npmCli
        ? [
            { target: '/usr/local/bin/npm', pointsTo: '../lib/node_modules/npm/bin/npm-cli.js' },
            { target: '/usr/local/bin/npx', pointsTo: '../lib/node_modules/npm/bin/npx-cli.js' },
          ]
        : []),
    ],
    dirs: [...BASE_DIRS, { target: '/home/node', mode: 0o755 }],
    dockerfileTail: [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${version}`,
      'CMD ["node"]',
    ],
  };
}

function findNpm(nodeBinary: string): string | undefined {
  const candidates = [join(dirname(dirname(nodeBinary)), 'lib', 'node_modules', 'npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'];
  return candidates.find((dir) => existsSync(join(dir, 'bin', 'npm-cli.js')));
}

const NGINX_CONF = `user nginx;
worker_processes auto;

error_log /var/log/nginx/error.log notice;
pid /var/run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;

    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log /var/log/nginx/access.log main;

    sendfile on;
    keepalive_timeout 65;

    include /etc/nginx/conf.d/*.conf;
}
`;

const NGINX_DEFAULT_SITE = `server {
    listen 80;
    listen [::]:80;
    server_name localhost;

    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
`;

/**
 * Debian's nginx binary laid out like the official image: \`nginx -g 'daemon off;'\`,
 * conf.d includes, logs to stdout/stderr, SIGQUIT for a graceful stop, \`nginx -s reload\` works.
 */
export async function nginxRecipe(): Promise<ImageRecipe> {
  const nginxBinary = realpathSync(binary('nginx'));
  const nginxFiles = ['mime.types', 'fastcgi_params', 'scgi_params', 'uwsgi_params']
    .map((name) => ({ source: join('/etc/nginx', name), target: join('/etc/nginx', name) }))
    .filter((file) => existsSync(file.source));
  if (!nginxFiles.some((file) => file.target.endsWith('mime.types'))) throw new TestbedError('/etc/nginx/mime.types missing', 'apt-get install -y nginx-light');
  return {
    key: 'nginx',
    ref: registryRef('nginx', 'latest'),
    aliases: [],
    files: [...(await binaryWithLibraries(nginxBinary, '/usr/sbin/nginx')), ...nginxFiles, { source: BUSYBOX_SOURCE, target: '/bin/busybox' }],
    trees: [],
    generated: [
      ...passwdFiles([
        { name: 'www-data', id: 33, home: '/var/www' },
        { name: 'nginx', id: 101, home: '/nonexistent' },
      ]),
      { target: '/etc/nginx/nginx.conf', content: NGINX_CONF },
      { target: '/etc/nginx/conf.d/default.conf', content: NGINX_DEFAULT_SITE },
      { target: '/usr/share/nginx/html/index.html', content: '<!DOCTYPE html>\n<title>stagecraft testbed nginx</title>\n<p>nginx is running.</p>\n' },
    ],
    symlinks: [
      ...(await busyboxApplets()),
      { target: '/var/log/nginx/access.log', pointsTo: '/dev/stdout' },
      { target: '/var/log/nginx/error.log', pointsTo: '/dev/stderr' },
      { target: '/var/run', pointsTo: '/run' },
    ],
    dirs: [
      ...BASE_DIRS,
      { target: '/run', mode: 0o755 },
      { target: '/var/lib/nginx', mode: 0o755 },
      { target: '/var/cache/nginx', mode: 0o755 },
      { target: '/var/lock', mode: 0o1777 },
    ],
    dockerfileTail: ['EXPOSE 80', 'STOPSIGNAL SIGQUIT', 'CMD ["nginx", "-g", "daemon off;"]'],
  };
}

export async function allRecipes(): Promise<ImageRecipe[]> {
  return [await busyboxRecipe(), await nodeRecipe(), await nginxRecipe()];
}

/** The version of a tree we copy whole (npm): its package.json, cheap to read. */
export function treeFingerprint(source: string): string {
  try {
    return readFileSync(join(source, 'package.json'), 'utf8');
  } catch {
    return '';
  }
}
