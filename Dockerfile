# stagecraft in a container: Node 20, stagecraft, the docker CLI and an ssh client.
#
#   docker build -t stagecraft .
#   docker run --rm -v "$PWD:/workdir" -v /var/run/docker.sock:/var/run/docker.sock \
#     -v ~/.ssh:/root/.ssh:ro stagecraft deploy --env prod
#
# Build arguments:
#   NODE_IMAGE        a Debian-based Node 20 image (default node:20-bookworm-slim)
#   DOCKER_CLI_IMAGE  an image holding a static docker CLI at /usr/local/bin/docker (default docker:28-cli)
#   EXTRA_CA_CERTS    PEM certificates npm must trust while building, e.g. a corporate TLS proxy's
#                     (--build-arg EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)");
#                     used by the build stage only, never part of the final image
ARG NODE_IMAGE=node:20-bookworm-slim
ARG DOCKER_CLI_IMAGE=docker:28-cli

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${NODE_IMAGE} AS build
ARG EXTRA_CA_CERTS=""
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
WORKDIR /opt/stagecraft
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY schema ./schema
RUN ln -s /opt/stagecraft/bin/stagecraft.js /usr/local/bin/stagecraft
WORKDIR /workdir
ENTRYPOINT ["stagecraft"]
CMD ["--help"]
