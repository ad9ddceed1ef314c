#!/usr/bin/env bash
# The chat cluster target run (issue 17): CLIENTS clients, rooms of 100, one message a second
# per room (--rate 0.01 each), DURATION seconds, against
#   cluster: 2 `c10k chat --redis` nodes + 1 redis-server (persistence off), and
#   single:  1 `c10k chat` node without Redis,
# alternating for ROUNDS rounds. The load generator is its own process (file descriptors:
# at most 20 000 per process). The nodes' CPU time (utime + stime, /proc) is sampled when the
# generator starts, when every client has joined and the sending starts, and when it is done:
# the steady state's CPU is divided by the deliveries the generator counted, the setup's by
# the clients.
# Usage: bench/chat-cluster.sh OUT_DIR [ROUNDS] [CLIENTS] [DURATION]
# Needs a release build (cargo build --release -p c10k-cli) and redis-server.
set -euo pipefail
out=${1:?usage: bench/chat-cluster.sh OUT_DIR [ROUNDS] [CLIENTS] [DURATION]}
rounds=${2:-3}
clients=${3:-10000}
duration=${4:-30}
bin=${C10K_BIN:-${CARGO_TARGET_DIR:-target}/release/c10k}
[ -x "$bin" ] || { echo "no $bin: cargo build --release -p c10k-cli first (or set C10K_BIN)" >&2; exit 1; }
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_node() { # name, extra args...; sets NODE_PID and NODE_ADDR
    local name=$1; shift
    "$bin" chat --listen 127.0.0.1:0 "$@" >"$out/$name.addr" 2>>"$out/$name.log" &
    NODE_PID=$!
    pids+=("$NODE_PID")
    for _ in $(seq 100); do [ -s "$out/$name.addr" ] && break; sleep 0.1; done
    NODE_ADDR=$(head -1 "$out/$name.addr")
}

sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }

wait_line() { # file, line: waits (at most 300 s) until the line is in the file
    for _ in $(seq 3000); do grep -qF "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

run_load() { # tag, nodes, node pids...
    # CPU ticks of the nodes: at the start, when the sending starts (every client joined),
    # and when the load generator is done (sending and drain): setup and steady state apart.
    local tag=$1 nodes=$2; shift 2
    local t0 t1 t2
    t0=$(sum_ticks "$@")
    timeout $((duration + 300)) "$bin" load chat --nodes "$nodes" -c "$clients" --room-size 100 \
        --rate 0.01 -d "$duration" --json >"$out/$tag.json" 2>"$out/$tag.err" &
    local lpid=$!
    wait_line "$out/$tag.err" "load chat: sending" || true
    t1=$(sum_ticks "$@")
    wait_line "$out/$tag.err" "load chat: done" || true
    t2=$(sum_ticks "$@")
    wait "$lpid" || true
    echo "$((t1 - t0)) $((t2 - t1))" >"$out/$tag.cpu_ticks"
}

for r in $(seq "$rounds"); do
    # cluster
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$out/redis-$r.log" 2>&1 &
    rpid=$!; pids+=("$rpid")
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    start_node "cluster-a-$r" --redis "redis://127.0.0.1:$port" --node-id a; apid=$NODE_PID; a=$NODE_ADDR
    start_node "cluster-b-$r" --redis "redis://127.0.0.1:$port" --node-id b; bpid=$NODE_PID; b=$NODE_ADDR
    sleep 1
    run_load "cluster-$r" "$a,$b" "$apid" "$bpid"
    kill "$apid" "$bpid" "$rpid"; wait "$apid" "$bpid" "$rpid" 2>/dev/null || true
    # single node
    start_node "single-$r"; spid=$NODE_PID; s=$NODE_ADDR
    run_load "single-$r" "$s" "$spid"
    kill "$spid"; wait "$spid" 2>/dev/null || true
    pids=()
done
python3 - "$out" "$rounds" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
rows = {}
for tag in ("cluster", "single"):
    for r in range(1, rounds + 1):
        try:
            j = json.load(open(f"{out}/{tag}-{r}.json"))
        except Exception as e:
            print(f"{tag}-{r}: no report ({e})"); continue
        setup_t, steady_t = (int(x) for x in open(f"{out}/{tag}-{r}.cpu_ticks").read().split())
        cpu = steady_t / hz
        us = cpu * 1e6 / max(j["received"], 1)
        setup_us = setup_t / hz * 1e6 / j["clients"]
        rows.setdefault(tag, []).append((j, us, setup_us))
        print(f"{tag}-{r}: p50 {j['all_us'][0]/1000:.2f} ms p99 {j['all_us'][1]/1000:.2f} ms "
              f"same-node p50 {j['local_us'][0]/1000:.2f} other-node p50 {j['cross_us'][0]/1000:.2f} "
              f"lost {j['lost']} dup {j['duplicated']} failed {j['failed_clients']} "
              f"received {j['received']} steady-state node CPU {cpu:.2f} s = {us:.2f} us/delivery; "
              f"setup {j['setup_s']:.1f} s, node CPU {setup_us:.0f} us/client")
def med(xs):
    return f"{statistics.median(xs):.2f} [{min(xs):.2f}-{max(xs):.2f}]"
if "cluster" in rows:
    c = rows["cluster"]
    print("cluster p99 ms", med([j["all_us"][1]/1000 for j, _, _ in c]))
    print("cluster other-node p50 / same-node p50", med([j["cross_us"][0]/max(j["local_us"][0],1) for j, _, _ in c]))
if "cluster" in rows and "single" in rows:
    pairs = list(zip(rows["cluster"], rows["single"]))
    print("single p99 ms", med([j["all_us"][1]/1000 for j, _, _ in rows["single"]]))
    print("cluster p99 / single-node p99", med([c["all_us"][1]/max(s["all_us"][1],1) for (c, _, _), (s, _, _) in pairs]))
    print("cluster p50 / single-node p50", med([c["all_us"][0]/max(s["all_us"][0],1) for (c, _, _), (s, _, _) in pairs]))
    print("steady-state node CPU per delivery, cluster / single", med([cu/su for (_, cu, _), (_, su, _) in pairs]))
    print("setup node CPU per client, cluster / single", med([cu/max(su,1e-9) for (_, _, cu), (_, _, su) in pairs]))
    print("setup time, cluster / single", med([c["setup_s"]/s["setup_s"] for (c, _, _), (s, _, _) in pairs]))
EOF
