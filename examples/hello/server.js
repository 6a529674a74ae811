// A tiny HTTP app for the stagecraft demo: `/up` is its health path, `/` says which version answers.
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const port = Number(process.env.PORT ?? 3000);
const version = process.env.STAGECRAFT_VERSION ?? 'dev';
const host = process.env.STAGECRAFT_HOST ?? hostname();
// Lets a test make one host's new container unhealthy on purpose.
const unhealthyOn = (process.env.UNHEALTHY_ON_HOSTS ?? '').split(',').filter(Boolean);

const server = createServer((req, res) => {
  if (req.url === '/up') {
    const healthy = !unhealthyOn.includes(host);
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(healthy ? 'ok\n' : 'unhealthy on purpose\n');
    return;
  }
  if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${process.env.STAGECRAFT_SERVICE ?? 'hello'} version ${version} on ${host}\n`);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.keepAliveTimeout = 65_000;
server.listen(port, () => console.log(`listening on :${port}, version ${version}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
