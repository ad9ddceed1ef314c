#!/usr/bin/env bash
# Scripted Ctrl-C under load: start a server, drive it with a small load from a separate
# process, send SIGINT at a random moment, and expect a clean exit (code 0) within a bound.
#
#   bench/sigint-loop.sh [-n RUNS] [-j PARALLEL] [-t SECS] [-b BINARY] [-m PROGRAM]...
#
#   -n RUNS       Ctrl-Cs to send in all (default 5000)
#   -j PARALLEL   runs at the same time (default 2)
#   -t SECS       how long a server may take to exit after SIGINT (default 5)
#   -b BINARY     the c10k binary (default target/release/c10k)
#   -m PROGRAM    a server command line after `c10k`, repeatable; runs cycle through them
#                 (default: echo --model epoll)
#   -c CONNS      connections of the load generator (default 8)
#   -a            send SIGINT after the load ended (0.0-0.5 s later, the server idle)
#                 instead of during it
#   -e            send SIGINT 0-2 ms after starting the server, without waiting for its
#                 address and without load: shows the startup window (see below)
#
# Startup window: a process started in the background by a non-interactive shell (as here)
# has SIGINT ignored, and the kernel discards an ignored signal unless it is blocked. c10k
# blocks it first thing in `main`; a SIGINT sent before that (between exec and main) is lost
# and the server keeps running. That is what -e measures, and why a script must wait for the
# address line (printed after the signals are blocked) before it sends SIGINT.
#
# A server that has not exited after -t seconds is a hang: its /proc status (pending and
# blocked signal masks), wchan and per-thread kernel stacks are saved under
# $OUT (default /tmp/sigint-loop.<pid>), then it is killed. A wrong exit code is a failure.
# The last line is the tally: `runs N ok N hangs N failures N`; the exit code is 0 only when
# every run was clean. Every loop is bounded: no run lasts longer than a few seconds.
set -uo pipefail

runs=5000
parallel=2
limit=5
bin=target/release/c10k
programs=()
conns=8
after=0
early=0
while getopts "n:j:t:b:m:c:ae" opt; do
    case $opt in
        n) runs=$OPTARG ;;
        j) parallel=$OPTARG ;;
        t) limit=$OPTARG ;;
        b) bin=$OPTARG ;;
        m) programs+=("$OPTARG") ;;
        c) conns=$OPTARG ;;
        a) after=1 ;;
        e) early=1 ;;
        *) sed -n '2,30p' "$0"; exit 2 ;;
    esac
done
[ ${#programs[@]} -eq 0 ] && programs=("echo --model epoll")
out=${OUT:-/tmp/sigint-loop.$$}
mkdir -p "$out"

# One run: prints "ok", "hang" or "fail CODE".
one() {
    local i=$1 program=$2 dir="$out/run$1"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$bin" $program --listen 127.0.0.1:0 >"$dir/stdout" 2>"$dir/stderr" &
    local server=$!
    local addr="" tries=0 load=""
    if [ "$early" = 1 ]; then
        sleep "0.00$((RANDOM % 3))"
        kill -INT $server
    fi
    while [ -z "$addr" ] && [ $tries -lt 500 ]; do
        addr=$(head -n1 "$dir/stdout" 2>/dev/null)
        [ -z "$addr" ] && sleep 0.01
        tries=$((tries + 1))
    done
    if [ -z "$addr" ]; then
        kill -9 $server 2>/dev/null; wait $server 2>/dev/null
        echo "fail no-address"; return
    fi
    local mode=echo
    case $program in http*) mode=http ;; chat*) mode=chat ;; esac
    if [ "$early" = 1 ]; then
        :
    elif [ "$after" = 1 ]; then
        "$bin" load $mode --target "$addr" -c "$conns" -d 0.5 >/dev/null 2>&1
        load=""
        sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    else
        "$bin" load $mode --target "$addr" -c "$conns" -d 3 >/dev/null 2>&1 &
        load=$!
        # Somewhere between "load still connecting" and "load in full swing".
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    fi
    [ "$early" = 1 ] || kill -INT $server
    local waited=0
    while kill -0 $server 2>/dev/null && [ $waited -lt $((limit * 100)) ]; do
        sleep 0.01
        waited=$((waited + 1))
    done
    if kill -0 $server 2>/dev/null; then
        {
            echo "program: $program"
            grep -E 'State|SigQ|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|Threads' /proc/$server/status
            echo "wchan: $(cat /proc/$server/wchan)"
            for t in /proc/$server/task/*; do
                echo "--- thread $(basename "$t") $(cat "$t/comm") wchan $(cat "$t/wchan")"
                grep -E 'SigPnd|SigBlk' "$t/status"
                cat "$t/stack" 2>/dev/null
            done
        } >"$dir/hang.txt" 2>&1
        kill -9 $server 2>/dev/null; wait $server 2>/dev/null
        [ -n "$load" ] && { kill -9 $load 2>/dev/null; wait $load 2>/dev/null; }
        echo "hang"; return
    fi
    wait $server
    local code=$?
    [ -n "$load" ] && { kill -9 $load 2>/dev/null; wait $load 2>/dev/null; }
    if [ $code -eq 0 ]; then
        rm -rf "$dir"
        echo "ok"
    else
        echo "fail $code"
    fi
}

ok=0 hangs=0 failures=0 done_runs=0
start=$(date +%s)
i=0
while [ $i -lt "$runs" ]; do
    batch=()
    for ((k = 0; k < parallel && i < runs; k++)); do
        program=${programs[$((i % ${#programs[@]}))]}
        one "$i" "$program" >"$out/result$i" &
        batch+=($!)
        i=$((i + 1))
    done
    wait "${batch[@]}"
    for ((k = i - ${#batch[@]}; k < i; k++)); do
        read -r result _ <"$out/result$k"
        rm -f "$out/result$k"
        done_runs=$((done_runs + 1))
        case $result in
            ok) ok=$((ok + 1)) ;;
            hang) hangs=$((hangs + 1)); echo "run $k: hang (see $out/run$k/hang.txt)" ;;
            *) failures=$((failures + 1)); echo "run $k: $(cat "$out/run$k/stderr" | tail -n1) ($result)" ;;
        esac
    done
    if [ $((done_runs % 500)) -eq 0 ]; then
        echo "progress: $done_runs runs, $hangs hangs, $failures failures, $(($(date +%s) - start)) s"
    fi
done
echo "runs $done_runs ok $ok hangs $hangs failures $failures ($(($(date +%s) - start)) s)"
[ $hangs -eq 0 ] && [ $failures -eq 0 ]
