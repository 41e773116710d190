#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it.
# Starts what the tests need on loopback (throwaway PostgreSQL, Redis, ...
# and the Kubernetes control plane from ../shared/k8s), runs every test, and
# stops what it started.
#
# Each tests/support/start-*.sh prints `export NAME=value` lines on stdout
# and appends the command that stops it to the file in $FD_TEST_CLEANUP.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/support/install-deps.sh

FD_TEST_CLEANUP=$(mktemp)
export FD_TEST_CLEANUP
cleanup() {
    bash "$FD_TEST_CLEANUP" >/dev/null 2>&1 || true
    rm -f "$FD_TEST_CLEANUP"
}
trap cleanup EXIT

for script in tests/support/start-*.sh; do
    [ -f "$script" ] || continue
    eval "$(bash "$script")"
done

export INSTA_UPDATE="${INSTA_UPDATE:-no}"
cargo test --locked "$@"
