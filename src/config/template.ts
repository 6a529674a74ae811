import path from 'node:path';

/** A service name derived from a directory name, valid for `service:`. */
export function serviceNameFor(dir: string): string {
  const name = path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '');
  return name === '' ? 'app' : name;
}

/** The commented stagecraft.yml written by `stagecraft init`; it loads once its two secrets are set. */
export function configTemplate(service: string): string {
  return `# stagecraft.yml — how ${service} is built, migrated and deployed.
# \`stagecraft config --env staging\` prints the resolved result; \`stagecraft config schema\` the JSON Schema.
# Any value may use \${VAR} or \${VAR:-default}: variables come from the environment first, then from
# .stagecraft/secrets (never commit that file). Write $$ for a literal $.

service: ${service}                    # names containers and releases
image: registry.example.com/acme/${service}   # repository without tag: each release's version is the tag

# A registry is needed once an environment has hosts other than \`local\`: stagecraft pushes each
# version there and every host pulls it. With only \`address: local\` hosts and no registry, the
# image built on this machine is the one that runs.
# registry:
#   server: registry.example.com
#   username: deploy
#   password: \${REGISTRY_PASSWORD}     # secret: redacted in every output

builder:
  context: .
  dockerfile: Dockerfile
  # args: { NODE_ENV: production }

ssh:
  user: root
  # keys: [~/.ssh/id_ed25519]          # the SSH agent is used as well
  # known_hosts: ~/.ssh/known_hosts    # host keys are always verified

env:
  clear:
    PORT: "3000"                       # values are strings: quote numbers
  secret: [DATABASE_URL]               # read from the environment or .stagecraft/secrets

proxy:
  app_port: 3000                       # the port your app listens on in its container
  healthcheck: { path: /up, interval: 1s, timeout: 30s }

databases:
  main:
    url: \${DATABASE_URL}               # secret: redacted in every output
    migrations:
      engine: raw                      # raw | knex | prisma | drizzle | golang-migrate | sqitch | node-pg-migrate | command
      path: db/migrations
      strategy: pre_deploy             # pre_deploy | post_deploy | manual
      timeout: 10m

rollout:
  strategy: all                        # all | rolling (batch_size) | canary (canary_percent)

environments:
  staging:
    hosts:
      # "local" deploys through this machine's Docker engine; use IPs or DNS names for servers.
      - { address: local, roles: [primary, web] }
  # prod:
  #   require_approval: true
  #   rollout: { strategy: rolling, batch_size: 2 }
  #   hosts:
  #     - { address: 10.0.1.1, roles: [primary, web] }
  #     - { address: 10.0.1.2 }
  #   databases:
  #     main: { migrations: { timeout: 30m } }   # merged over the entry above
`;
}

/** `.stagecraft/secrets`: dotenv lines, written with mode 0600. */
export function secretsTemplate(): string {
  return `# Secrets for stagecraft.yml: KEY=value per line (KEY="quoted value" also works).
# Variables set in the environment take precedence. Keep this file out of version control.
# REGISTRY_PASSWORD=change-me
# DATABASE_URL=postgres://app:change-me@db.example.com:5432/app
`;
}
