// Writes .stagecraft/secrets (dotenv syntax, mode 0600) with the testbed's credentials for the demo.
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const state = JSON.parse(readFileSync('.testbed/state.json', 'utf8'));
const lines = [
  '# Written by scripts/write-demo-secrets.mjs from .testbed/state.json. Never commit this file.',
  `REGISTRY_USER=${state.registry.username}`,
  `REGISTRY_PASSWORD=${state.registry.password}`,
  `DATABASE_URL=${state.postgres.url}`,
  `GREETING_TOKEN=${randomBytes(12).toString('hex')}`,
  '',
];
mkdirSync('.stagecraft', { recursive: true });
writeFileSync('.stagecraft/secrets', lines.join('\n'), { mode: 0o600 });
chmodSync('.stagecraft/secrets', 0o600);
console.log('wrote .stagecraft/secrets');
