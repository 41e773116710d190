#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it.
# Starts what the tests need on loopback (a throwaway PostgreSQL), runs
# every test, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${FLIGHTDECK_TEST_DATABASE_URL:-}" ]; then
    eval "$(bash tests/support/start-postgres.sh)"
    pg_pid_file=$(ls -d "${TMPDIR:-/tmp}"/fdpg.*/data/postmaster.pid 2>/dev/null | tail -n 1 || true)
    cleanup() {
        if [ -n "$pg_pid_file" ] && [ -f "$pg_pid_file" ]; then
            kill "$(head -n 1 "$pg_pid_file")" 2>/dev/null || true
        fi
    }
    trap cleanup EXIT
fi
export FLIGHTDECK_TEST_DATABASE_URL
export INSTA_UPDATE="${INSTA_UPDATE:-no}"

cargo test --locked "$@"
