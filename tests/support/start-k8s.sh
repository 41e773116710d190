#!/usr/bin/env bash
# Start the Kubernetes control plane of ../shared/k8s for the tests (one per
# test run; tests isolate themselves by namespace). Prints the export of
# FLIGHTDECK_TEST_KUBECONFIG and registers its stop in $FD_TEST_CLEANUP.
set -euo pipefail
if [ -n "${FLIGHTDECK_TEST_KUBECONFIG:-}" ]; then
    echo "start-k8s: using FLIGHTDECK_TEST_KUBECONFIG as given" >&2
    exit 0
fi
here="$(cd "$(dirname "$0")/../.." && pwd)"
k8s="${FLIGHTDECK_K8S_DIR:-$here/../shared/k8s}"
if [ ! -x "$k8s/up.sh" ]; then
    echo "start-k8s: $k8s/up.sh not found (the shared/ folder sits beside the project)" >&2
    exit 1
fi
run="$(mktemp -d "${TMPDIR:-/tmp}/fdk8s.XXXXXX")"
"$k8s/up.sh" "$run" >"$run/up.out"
if [ -n "${FD_TEST_CLEANUP:-}" ]; then
    echo "'$k8s/down.sh' '$run'; rm -rf '$run'" >>"$FD_TEST_CLEANUP"
fi
echo "export FLIGHTDECK_TEST_KUBECONFIG=$run/kubeconfig"
