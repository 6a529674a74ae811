#!/usr/bin/env bash
# The demo: bring up the local testbed, deploy examples/hello to two hosts with the repository's
# own stagecraft.yml, list the releases, and show each host's proxy answering.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ ! -d node_modules ] || [ ! -f dist/cli/main.js ]; then
  step "installing stagecraft's dependencies"
  npm ci --no-audit --no-fund
fi
npm run --silent build

step "bringing up the testbed (Debian packages, 3 hosts with sshd + Docker, registry, PostgreSQL)"
npm run --silent testbed -- up --hosts 3

step "installing the example app's dependencies (copied into its image)"
npm --prefix examples/hello ci --omit=dev --no-audit --no-fund

step "writing .stagecraft/secrets from the testbed (mode 0600, git-ignored)"
node scripts/write-demo-secrets.mjs

step "stagecraft deploy --env demo"
node bin/stagecraft.js deploy --env demo

step "stagecraft releases list"
node bin/stagecraft.js releases list

step "the app through each host's proxy"
for host in 10.201.0.11 10.201.0.12; do
  printf 'http://%s/  →  ' "$host"
  node -e 'fetch(process.argv[1]).then(async (r) => process.stdout.write(await r.text()), (e) => { console.error(e.message); process.exit(1); })' "http://$host/"
done
