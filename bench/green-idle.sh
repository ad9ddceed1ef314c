#!/usr/bin/env bash
# Memory of 100 000 idle green threads, two ways (issue 14: "100 000 idle green threads in
# <= 1 GiB RSS"):
#
# 1. Green threads parked on a c10k-sync Event, no sockets (`idle_rss` example), against
#    async tasks parked the same way in the same process.
# 2. 100 000 idle *connections*, each a green thread of `c10k echo --model green` parked in a
#    read. A process may hold at most 20 000 descriptors here, so one server process cannot
#    hold 100 000 sockets: the script runs SERVERS green echo servers (default 6, on their own
#    ports, so each stays under the limit and under the ephemeral-port range per destination),
#    each driven by its own client process (python, one round trip per connection, then idle),
#    and sums the servers' RSS growth. Every process it starts is stopped by PID at the end.
#
#   bench/green-idle.sh [N] [SERVERS]     (N = 100000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
SERVERS=${2:-6}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p c10k-cli -p c10k-green --example idle_rss
BIN=$CARGO_TARGET_DIR/release

need=$((2 * N + 1024))
if [ "$(cat /proc/sys/vm/max_map_count)" -lt "$need" ]; then
    echo "raising vm.max_map_count to $need (two mappings per green stack)"
    sysctl -q -w vm.max_map_count="$need"
fi

echo "== 1. $N green threads parked on an Event (no sockets)"
"$BIN/examples/idle_rss" "$N"

echo "== 2. $N idle connections over $SERVERS green echo servers"
per=$(( (N + SERVERS - 1) / SERVERS ))
pids=()
clients=()
cleanup() {
    for p in "${clients[@]}" "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${clients[@]}" "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
ports=()
for i in $(seq 1 "$SERVERS"); do
    port=$((7400 + i))
    "$BIN/c10k" echo --model green --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pids+=($!)
    ports+=("$port")
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
for port in "${ports[@]}"; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
done
before=0
for p in "${pids[@]}"; do before=$((before + $(rss "$p"))); done
ready=$(mktemp -d)
for port in "${ports[@]}"; do
    python3 - "$port" "$per" "$ready/$port" <<'PY' &
import socket, sys, time, os
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for i in range(0, n, 100):
    batch = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(min(100, n - i))]
    for s in batch:
        s.sendall(b"I")
    for s in batch:
        assert s.recv(1) == b"I"
    conns += batch
open(flag, "w").close()
time.sleep(120)  # held idle until the script kills this client (bounded anyway)
PY
    clients+=($!)
done
for port in "${ports[@]}"; do
    for _ in $(seq 1200); do [ -e "$ready/$port" ] && break; sleep 0.1; done
    [ -e "$ready/$port" ] || { echo "client for $port did not finish"; exit 1; }
done
after=0
for p in "${pids[@]}"; do after=$((after + $(rss "$p"))); done
total=$((per * SERVERS))
echo "servers' RSS: $before KiB before, $after KiB with $total idle connections"
awk -v b="$before" -v a="$after" -v n="$total" 'BEGIN {
    printf "%.2f KiB per idle connection; %.0f MiB for the %d connections (all servers)\n",
        (a - b) / n, a / 1024, n }'
rm -rf "$ready"
