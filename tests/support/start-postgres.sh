#!/usr/bin/env bash
# Start a throwaway PostgreSQL for tests/journal_postgres.rs.
#
#   eval "$(tests/support/start-postgres.sh)"
#   cargo test --test journal_postgres
#
# Creates a cluster in a fresh temp dir, starts it on 127.0.0.1 on a free
# port (trust auth, socket in the same dir), waits until it answers, and
# prints `export FLIGHTDECK_TEST_DATABASE_URL=...` on stdout. Everything
# else goes to stderr. Stop it with the printed `pg_ctl ... stop` line.
# As root (initdb refuses root) the cluster is run as the `postgres` user,
# created if missing.
set -euo pipefail

bindir="${PG_BINDIR:-}"
if [ -z "$bindir" ]; then
    for v in 17 16 15 14 13; do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
            bindir="/usr/lib/postgresql/$v/bin"
            break
        fi
    done
fi
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
    bindir="$(dirname "$(command -v initdb)")"
fi
if [ -n "${FLIGHTDECK_TEST_DATABASE_URL:-}" ]; then
    echo "start-postgres: using FLIGHTDECK_TEST_DATABASE_URL as given" >&2
    exit 0
fi
if [ -z "$bindir" ]; then
    echo "start-postgres: no initdb found (apt-get install -y postgresql, or set PG_BINDIR)" >&2
    exit 1
fi

# A free port: ask the kernel for one (python3), else probe random ports
# until one does not answer.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "start-postgres: no free port found" >&2
    return 1
}
port="$(free_port)"

dir="$(mktemp -d "${TMPDIR:-/tmp}/fdpg.XXXXXX")"
run=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    run=(su postgres -s /bin/sh -c)
else
    run=(sh -c)
fi

"${run[@]}" "'$bindir/initdb' -D '$dir/data' -A trust -U postgres --no-sync >'$dir/initdb.log' 2>&1" || {
    cat "$dir/initdb.log" >&2
    exit 1
}
"${run[@]}" "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/postgres.log' -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off\" start >/dev/null" || {
    cat "$dir/postgres.log" >&2
    exit 1
}

# Wait until it accepts connections (pg_isready when present, else the port).
answers() {
    if [ -x "$bindir/pg_isready" ]; then
        "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}
up=""
for _ in $(seq 1 60); do
    if answers; then
        up=1
        break
    fi
    sleep 0.5
done
if [ -z "$up" ]; then
    echo "start-postgres: server did not answer in 30s; log follows" >&2
    cat "$dir/postgres.log" >&2
    exit 1
fi

if [ -n "${FD_TEST_CLEANUP:-}" ]; then
    echo "${run[*]} \"'$bindir/pg_ctl' -D '$dir/data' -m immediate stop\"; rm -rf '$dir'" >>"$FD_TEST_CLEANUP"
fi
echo "start-postgres: cluster in $dir on port $port; stop with:" >&2
echo "  ${run[*]} \"'$bindir/pg_ctl' -D '$dir/data' stop\"" >&2
echo "export FLIGHTDECK_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
