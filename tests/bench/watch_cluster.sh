#!/usr/bin/env bash
# `flightdeck watch` against the real test control plane (a simulated node:
# /work/shared/k8s/README.md): a Deployment of N replicas stuck mid-rollout,
# the TUI in tmux at 200x50. Prints: time to pods on screen (from Enter)
# next to a bare `kubectl get --raw` of the same pods, idle CPU over 60 s,
# RSS (idle, and after following a pod's 100k log lines), and the app's
# own frame-time p99.
#
#   tests/bench/watch_cluster.sh [N]        (default 5000)
#
# PERF=FILE records a CPU profile of the idle minute (perf report -i FILE).
# Uses FLIGHTDECK_TEST_KUBECONFIG when set (source /work/services.env), else
# starts a cluster with shared/k8s/up.sh. Builds nothing: run
# `cargo build --release` (or set FLIGHTDECK_BIN) first.
#
# Measured 2026-11-30, debug build, 2 cores shared with 4 other builds,
# 200x50. Before this round, N=1000: idle CPU 3.7-3.9 % (perf: decoding
# ~100 probe-failure event bumps/s, snapshot copies).
#   N=1000 (1,251 pods mid-rollout, 500 failing readiness probes): pods on
#     screen 751-1966 ms from Enter vs bare list 457-989 ms; idle CPU
#     0.23 %; RSS 88 MB; RSS after 101,724 log lines 79 MB (peak 89 MB);
#     frame p99 10.3 ms (p50 1.0 ms).
#   N=5000 (6,753-7,131 pods; the simulated node was still deleting
#     ~1,300 Terminating pods through the idle minute, so not idle): pods
#     on screen 3.6-8.5 s vs bare list 0.7-6.3 s (the API server itself
#     varied 2-9x between runs); idle CPU 3.9 % (13.3 % before the last
#     two changes; perf: memmove/memcmp/malloc of PodSnap copies, sorts
#     and comparisons, once per burst of pod changes, every ~1.4 s);
#     RSS 239 MB, unchanged after 101,162 log lines; frame p99 12.7 ms.
set -euo pipefail

N=${1:-5000}
IDLE_S=${IDLE_S:-60}
here=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FLIGHTDECK_BIN:-$here/target/release/flightdeck}
[ -x "$BIN" ] || BIN=$here/target/debug/flightdeck
[ -x "$BIN" ] || { echo "build flightdeck first (cargo build --release)" >&2; exit 2; }

if [ -z "${FLIGHTDECK_TEST_KUBECONFIG:-}" ]; then
    up=${FLIGHTDECK_K8S_UP:-/work/shared/k8s/up.sh}
    eval "$("$up")"
    FLIGHTDECK_TEST_KUBECONFIG=$KUBECONFIG
fi
export KUBECONFIG=$FLIGHTDECK_TEST_KUBECONFIG

NS=fd-bench-$$-$RANDOM
SESSION=fdbench-$$
# A tmux server of its own: a shared one would hand this script's
# environment (FLIGHTDECK_JOURNAL, ...) to everyone else's sessions.
SOCK=fdbench-$$
tmux() { command tmux -L "$SOCK" "$@"; }
WORK=$(mktemp -d)
cleanup() {
    tmux kill-server 2>/dev/null || true
    kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ms() { date +%s%3N; }
screen() { tmux capture-pane -p -t "$SESSION"; }
# Wait until the screen shows a line matching $1 (at most $2 seconds).
wait_for() {
    local end=$(( $(ms) + ${2:-120} * 1000 ))
    while [ "$(ms)" -lt "$end" ]; do
        if screen | grep -qE "$1"; then return 0; fi
        sleep 0.05
    done
    echo "timed out waiting for /$1/; screen:" >&2
    screen >&2
    return 1
}

echo "== $N replicas in namespace $NS"
kubectl create namespace "$NS" >/dev/null
deploy() {
    cat <<EOF | kubectl apply -n "$NS" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: $N
  progressDeadlineSeconds: 3600
  selector: {matchLabels: {app: bench}}
  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}
  template:
    metadata:
      labels: {app: bench}
      annotations: {fake.flightdeck.dev/start-delay: "0s", fake.flightdeck.dev/log-rate: "0"}
    spec: {containers: [{name: app, image: "$1"}]}
EOF
}
deploy registry/bench:1
cat <<EOF | kubectl apply -n "$NS" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: chatty}
spec:
  replicas: 1
  selector: {matchLabels: {app: chatty}}
  template:
    metadata:
      labels: {app: chatty}
      annotations: {fake.flightdeck.dev/start-delay: "0s", fake.flightdeck.dev/log-rate: "2000"}
    spec: {containers: [{name: app, image: registry/chatty:1}]}
EOF
echo "   waiting for $N ready pods (the simulated node is slow at scale)…"
kubectl rollout status -n "$NS" deploy/bench --timeout=1200s >/dev/null
# Mid-rollout: the new image never becomes ready, so it stays stuck with
# old and new pods (N + surge).
deploy registry/bench-unready:2
sleep 10
PODS=$(kubectl get --raw "/api/v1/namespaces/$NS/pods?labelSelector=app%3Dbench" | grep -o '"kind":"Pod"' | wc -l || true)
[ "$PODS" -gt 0 ] || PODS=$(kubectl get pods -n "$NS" --no-headers | wc -l)
echo "   $PODS pods mid-rollout"

bare=()
for _ in 1 2 3; do
    t0=$(ms)
    kubectl get --raw "/api/v1/namespaces/$NS/pods?labelSelector=app%3Dbench" >/dev/null
    bare+=($(( $(ms) - t0 )))
done

tmux new-session -d -s "$SESSION" -x 200 -y 50 \
    "sh -c 'echo \$\$ > $WORK/pid; exec $BIN watch -n $NS'; echo EXITED; sleep 60"
t_launch=$(ms)
wait_for "bench .*(stuck|progressing)" 120
t_list=$(ms)
tmux send-keys -t "$SESSION" Enter
t_enter=$(ms)
# Pods on screen: the table's title counts them and rows are drawn.
wait_for "Pods · [0-9]{3,}" 120
wait_for "● bench-" 60
t_pods=$(ms)
PID=$(cat "$WORK/pid")

sleep 5 # let the burst settle
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks); w0=$(ms)
if [ -n "${PERF:-}" ]; then
    # PERF=file: a CPU profile of the idle TUI (perf report -i file).
    perf record -F 499 -g -p "$PID" -o "$PERF" -- sleep "$IDLE_S" >/dev/null 2>&1
else
    sleep "$IDLE_S"
fi
c1=$(ticks); w1=$(ms)
cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v w="$((w1 - w0))" 'BEGIN { printf "%.2f", 100 * c / hz / (w / 1000) }')
rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")

# RSS with 100k log lines: follow a pod logging 2,000 lines/s until the
# pane's counter passes 100,000 (the buffer keeps the newest, by bytes).
LOG_LINES=${LOG_LINES:-100000}
tmux send-keys -t "$SESSION" Escape
wait_for "chatty" 30
tmux send-keys -t "$SESSION" j Enter
wait_for "(▶|●) chatty-" 60
tmux send-keys -t "$SESSION" Enter
t_logs=$(ms)
want=$LOG_LINES
got=0
while :; do
    got=$(screen | grep -oE "Pod logs · [^·]+ · [0-9]+ lines" | grep -oE "[0-9]+ lines" | grep -oE "[0-9]+" || echo 0)
    [ "${got:-0}" -ge "$want" ] && break
    [ $(( $(ms) - t_logs )) -gt $(( want / 2 * 3 + 120000 )) ] && { echo "logs stalled at $got lines" >&2; break; }
    sleep 1
done
log_rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
log_hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status")
log_shown=$(screen | grep -oE "Pod logs · [^│]*" | head -1)

tmux send-keys -t "$SESSION" q
wait_for "EXITED" 20
frames=$(screen | grep -E "^frames" | tail -1)

echo
echo "| figure | bare list | flightdeck watch |"
echo "|---|---|---|"
echo "| pods on screen ($PODS pods) | ${bare[*]} ms | $((t_pods - t_enter)) ms from Enter (list after $((t_list - t_launch)) ms from launch) |"
echo "| idle CPU over ${IDLE_S}s | | ${cpu} % |"
echo "| RSS | | ${rss} MB (peak ${hwm} MB) |"
echo "| RSS with ${got:-0} log lines | | ${log_rss} MB (peak ${log_hwm} MB) · ${log_shown} |"
echo "| frames | | ${frames:-n/a} |"
