#!/usr/bin/env bash
# Start a throwaway OCI registry (Debian's docker-registry) with htpasswd
# auth for tests/data_checks.rs.
#
#   eval "$(bash tests/support/start-registry.sh)"
#
# Prints `export FLIGHTDECK_TEST_REGISTRY_URL=http://127.0.0.1:PORT`,
# FLIGHTDECK_TEST_REGISTRY_USER and FLIGHTDECK_TEST_REGISTRY_PASSWORD.
# The bcrypt hash comes from htpasswd (apache2-utils) or python3's crypt.
# Appends the stop command to $FD_TEST_CLEANUP when set.
set -euo pipefail

if [ -n "${FLIGHTDECK_TEST_REGISTRY_URL:-}" ]; then
    echo "start-registry: using FLIGHTDECK_TEST_REGISTRY_URL as given" >&2
    exit 0
fi
registry="$(command -v docker-registry || true)"
if [ -z "$registry" ]; then
    echo "start-registry: no docker-registry (apt-get install -y docker-registry)" >&2
    exit 1
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
user="release-bot"
password="fd-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
dir="$(mktemp -d "${TMPDIR:-/tmp}/fdregistry.XXXXXX")"
if command -v htpasswd >/dev/null 2>&1; then
    htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
else
    FD_PW="$password" FD_USER="$user" python3 -W ignore -c '
import crypt, os
print(os.environ["FD_USER"] + ":" + crypt.crypt(os.environ["FD_PW"], crypt.mksalt(crypt.METHOD_BLOWFISH)))
' >"$dir/htpasswd"
fi
cat >"$dir/config.yml" <<CFG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: flightdeck-test
    path: $dir/htpasswd
CFG
"$registry" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
pid=$!
up=""
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "start-registry: docker-registry did not answer in 10s; log follows" >&2
    cat "$dir/registry.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
fi
stop="kill $pid 2>/dev/null; rm -rf '$dir'"
if [ -n "${FD_TEST_CLEANUP:-}" ]; then
    echo "$stop" >>"$FD_TEST_CLEANUP"
fi
echo "start-registry: registry on 127.0.0.1:$port; stop with: $stop" >&2
echo "export FLIGHTDECK_TEST_REGISTRY_URL=http://127.0.0.1:$port"
echo "export FLIGHTDECK_TEST_REGISTRY_USER=$user"
echo "export FLIGHTDECK_TEST_REGISTRY_PASSWORD=$password"
