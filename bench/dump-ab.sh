#!/usr/bin/env bash
# A/B of the task dump's bookkeeping on the runtime benches (issue 15, target <= 2 %).
#
# Builds crates/runtime/benches/runtime.rs twice, from BASE (the commit before the dump,
# default: the merge base with main) and from the working tree (with it), into the same
# target directory, then runs the c10k benchmarks of both binaries interleaved, ROUNDS
# times (A, B, A, B...), so that the load of a shared machine falls on both alike. Prints,
# per benchmark, each round's ratio B/A (with / without) and their median.
#
#   bench/dump-ab.sh [-b BASE] [-n ROUNDS] [-f FILTER] [-o OUT.txt]
set -euo pipefail
cd "$(dirname "$0")/.."

base=$(git merge-base HEAD main)
rounds=5
filter='/c10k/'
out=""
while getopts "b:n:f:o:" opt; do
    case $opt in
        b) base=$OPTARG ;;
        n) rounds=$OPTARG ;;
        f) filter=$OPTARG ;;
        o) out=$OPTARG ;;
        *) echo "usage: $0 [-b BASE] [-n ROUNDS] [-f FILTER] [-o OUT]" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$base" | tar -x -C "$tmp"

# The path of the bench executable `cargo bench --no-run` builds in directory $1.
build() {
    (cd "$1" && cargo bench -p c10k-runtime --bench runtime --no-run --message-format=json 2>/dev/null) |
        grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4
}
exe_a=$(build "$tmp")
exe_b=$(build "$PWD")
[ -x "$exe_a" ] && [ -x "$exe_b" ] || { echo "build failed: '$exe_a' '$exe_b'" >&2; exit 1; }

# "name median_ns" per benchmark of one criterion run.
run() {
    "$1" --bench --noplot --discard-baseline --warm-up-time 1 --measurement-time 3 "$filter" 2>/dev/null |
        awk '
            /^[a-z_0-9]+\/[^ ]+/ && !/time:/ { name = $1 }
            /time:/ {
                sub(/.*time: *\[/, ""); split($0, f, " ")
                v = f[3]; u = f[4]
                m = (u == "ns") ? 1 : (u == "µs" || u == "us") ? 1e3 : (u == "ms") ? 1e6 : 1e9
                print name, v * m
            }'
}

: > "$tmp/a"; : > "$tmp/b"
for r in $(seq 1 "$rounds"); do
    run "$exe_a" | sed "s/^/$r /" >> "$tmp/a"
    run "$exe_b" | sed "s/^/$r /" >> "$tmp/b"
done

report() {
    echo "A/B of the task-dump bookkeeping: A = $base (without), B = $(git rev-parse --short HEAD) + working tree (with)"
    echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $rounds interleaved rounds, filter '$filter'"
    echo
    printf '%-44s %-40s %s\n' benchmark "B/A per round" "median B/A"
    join <(awk '{print $2"#"$1, $3}' "$tmp/a" | sort) <(awk '{print $2"#"$1, $3}' "$tmp/b" | sort) |
        awk '{ split($1, k, "#"); r[k[1]] = r[k[1]] sprintf("%.3f ", $3 / $2) }
             END { for (n in r) print n, r[n] }' | sort |
        while read -r name ratios; do
            med=$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
            printf '%-44s %-40s %s\n' "$name" "$ratios" "$med"
        done
}
if [ -n "$out" ]; then report | tee "$out"; else report; fi
