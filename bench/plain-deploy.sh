#!/usr/bin/env bash
# The plain way to do what `stagecraft deploy --skip-build` does, for bench/deploy.ts to time:
# for each host, over ssh (a new connection per command): pull the image, run the new container,
# wait until /up answers from inside it, point the nginx proxy at it, reload, pause, stop the old one.
#
#   plain-deploy.sh IMAGE NEW_CONTAINER OLD_CONTAINER HOST...
# Environment: KEY KNOWN_HOSTS HOST_DOCKER_CONFIG NETWORK PROXY LABEL HEALTH_INTERVAL_S DRAIN_S PARALLEL(0|1)
set -euo pipefail
image=$1 new=$2 old=$3
shift 3
ssh_opts=(-i "$KEY" -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes)
conf_dir=$(mktemp -d)
trap 'rm -rf "$conf_dir"' EXIT
printf 'upstream app { server %s:3000; }\nserver { listen 80 default_server; location / { proxy_pass http://app; } }\n' "$new" > "$conf_dir/default.conf"

deploy_host() {
  local host=$1
  on() { ssh "${ssh_opts[@]}" "root@$host" "$@"; }
  on DOCKER_CONFIG="$HOST_DOCKER_CONFIG" docker pull -q "$image" > /dev/null
  on docker run -d --name "$new" --label "$LABEL" --network "$NETWORK" --restart unless-stopped \
    -e PORT=3000 -e STAGECRAFT_SERVICE=bash -e STAGECRAFT_VERSION="$new" -e STAGECRAFT_HOST="$host" "$image" > /dev/null
  # The remote shell re-parses the command line: the JavaScript travels single-quoted.
  until on docker exec "$new" node -e "'fetch(\"http://127.0.0.1:3000/up\").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))'"; do
    sleep "$HEALTH_INTERVAL_S"
  done
  tar -C "$conf_dir" -c default.conf | on docker cp - "$PROXY:/etc/nginx/conf.d/"
  on docker exec "$PROXY" nginx -s reload > /dev/null 2>&1
  sleep "$DRAIN_S"
  on docker stop "$old" > /dev/null
}

if [ "$PARALLEL" = 1 ]; then
  pids=()
  for host in "$@"; do
    deploy_host "$host" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
else
  for host in "$@"; do deploy_host "$host"; done
fi
