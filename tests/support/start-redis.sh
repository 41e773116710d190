#!/usr/bin/env bash
# Start a throwaway, password-protected Redis for tests/data_*.rs.
#
#   eval "$(bash tests/support/start-redis.sh)"
#   cargo test --test data_checks
#
# Runs redis-server on 127.0.0.1 on a free port with `requirepass`, no
# persistence, in a fresh temp dir; waits until it answers PING; prints
# `export FLIGHTDECK_TEST_REDIS_URL=redis://:PASSWORD@127.0.0.1:PORT` (and
# FLIGHTDECK_TEST_REDIS_SERVER, the binary, for tests that start their own).
# Appends the stop command to $FD_TEST_CLEANUP when set.
set -euo pipefail

if [ -n "${FLIGHTDECK_TEST_REDIS_URL:-}" ]; then
    echo "start-redis: using FLIGHTDECK_TEST_REDIS_URL as given" >&2
    exit 0
fi
server="$(command -v redis-server || true)"
if [ -z "$server" ]; then
    echo "start-redis: no redis-server (apt-get install -y redis-server)" >&2
    exit 1
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="fd-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
dir="$(mktemp -d "${TMPDIR:-/tmp}/fdredis.XXXXXX")"
"$server" --bind 127.0.0.1 --port "$port" --requirepass "$password" \
    --save '' --appendonly no --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
up=""
for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "start-redis: redis-server did not answer in 5s; log follows" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
fi
stop="kill \$(cat '$dir/redis.pid') 2>/dev/null; rm -rf '$dir'"
if [ -n "${FD_TEST_CLEANUP:-}" ]; then
    echo "$stop" >>"$FD_TEST_CLEANUP"
fi
echo "start-redis: redis on 127.0.0.1:$port (dir $dir); stop with: $stop" >&2
echo "export FLIGHTDECK_TEST_REDIS_URL=redis://:$password@127.0.0.1:$port"
echo "export FLIGHTDECK_TEST_REDIS_SERVER=$server"
