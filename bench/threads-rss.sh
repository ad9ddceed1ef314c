#!/usr/bin/env bash
# RSS of `c10k echo --model threads` after bursts of connections: start the server, drive
# it with `c10k load` (a separate process: the machine allows 20 000 descriptors per
# process) at -c CONNS for a short run, wait until every connection thread is gone, read
# VmRSS; repeat. Extra environment (e.g. GLIBC_TUNABLES) goes to the server only.
#
#   bench/threads-rss.sh [-b BINARY] [-c CONNS] [-n BURSTS] [-- SERVER_ARGS...]
#
# Prints one line per burst: `burst N rss_kib R threads T`. Bounded: each wait gives up
# after 60 s.
set -uo pipefail

bin=target/release/c10k
conns=10000
bursts=5
while getopts "b:c:n:" opt; do
    case $opt in
        b) bin=$OPTARG ;;
        c) conns=$OPTARG ;;
        n) bursts=$OPTARG ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift

out=$(mktemp)
"$bin" echo --model threads --listen 127.0.0.1:0 "$@" >"$out" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 500); do
    addr=$(head -n1 "$out")
    [ -n "$addr" ] && break
    sleep 0.01
done
[ -n "$addr" ] || { echo "no address"; exit 1; }

rss() { awk '/VmRSS/ {print $2}' /proc/$server/status; }
threads() { awk '/Threads/ {print $2}' /proc/$server/status; }

base_threads=$(threads)
echo "burst 0 rss_kib $(rss) threads $base_threads"
for n in $(seq "$bursts"); do
    "$bin" load echo --target "$addr" -c "$conns" -d 2 >/dev/null 2>&1
    for _ in $(seq 6000); do
        [ "$(threads)" -le "$base_threads" ] && break
        sleep 0.01
    done
    echo "burst $n rss_kib $(rss) threads $(threads)"
done
