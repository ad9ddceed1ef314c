#!/usr/bin/env bash
# A/B of the task dump's bookkeeping on the runtime benches (issue 15, target <= 2 %).
#
# Builds crates/runtime/benches/runtime.rs twice, from BASE (the commit before the dump,
# default: the merge base with main) and from the working tree (with it), then runs the
# c10k benchmarks of both binaries interleaved, ROUNDS times (A, B, A, B...), so that the
# load of a shared machine falls on both alike. Prints, per benchmark, each round's ratio
# B/A (with / without) and their median.
#
# Two measures (-m):
#   time   criterion's median time per iteration (wall clock: on a shared machine, rounds
#          swing by ±50 %, far more than the 2 % to resolve);
#   instr  instructions executed by ONE iteration of each benchmark (`--test` mode, under
#          `valgrind --tool=cachegrind --cache-sim=no`), minus those of a run that selects
#          no benchmark (building the runtimes of the file): the cost in work, which other
#          jobs on the machine do not move (this VM has no hardware counters for `perf`).
#
# -B COMMIT builds B from COMMIT instead of the working tree; -F FEATURES builds B with
# `--features FEATURES` (e.g. `-b . -F tracing`: the cost of the tracing feature on, with
# no subscriber, against the same tree without it).
#
#   bench/dump-ab.sh [-m time|instr] [-b BASE] [-B COMMIT] [-F FEATURES] [-n ROUNDS]
#                    [-f FILTER] [-o OUT.txt]
set -euo pipefail
cd "$(dirname "$0")/.."

base=$(git merge-base HEAD main)
rounds=5
filter='/c10k/'
out=""
mode=time
head_commit=""
features=""
while getopts "m:b:B:F:n:f:o:" opt; do
    case $opt in
        m) mode=$OPTARG ;;
        B) head_commit=$OPTARG ;;
        F) features=$OPTARG ;;
        b) base=$OPTARG ;;
        n) rounds=$OPTARG ;;
        f) filter=$OPTARG ;;
        o) out=$OPTARG ;;
        *) echo "usage: $0 [-b BASE] [-n ROUNDS] [-f FILTER] [-o OUT]" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target=${CARGO_TARGET_DIR:-$PWD/target}
# A tree from git lives in target/dump-ab/<commit>/ and builds into its own target/ there:
# cargo names a workspace's artifacts by paths relative to the workspace, so two trees of
# the same workspace sharing one target directory would overwrite each other's libraries.
# `-b .` is the working tree itself (with -F: the cost of a feature).
if [ "$base" = . ]; then
    src_a=$PWD
else
    base=$(git rev-parse "$base")
    src_a="$target/dump-ab/$base"
fi
if [ ! -d "$src_a" ]; then
    mkdir -p "$src_a"
    git archive "$base" | tar -x -C "$src_a"
fi

src_b=$PWD
if [ -n "$head_commit" ]; then
    src_b="$target/dump-ab/$(git rev-parse "$head_commit")"
    if [ ! -d "$src_b" ]; then
        mkdir -p "$src_b"
        git archive "$head_commit" | tar -x -C "$src_b"
    fi
fi

# The path of the bench executable `cargo bench --no-run` builds in directory $1, with
# features $2.
build() {
    local dir=$target
    [ "$1" = "$PWD" ] || dir=$1/target
    (cd "$1" && CARGO_TARGET_DIR="$dir" cargo bench -p c10k-runtime --bench runtime --no-run \
        ${2:+--features "$2"} --message-format=json 2>/dev/null) |
        grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4
}
exe_a=$(build "$src_a")
exe_b=$(build "$src_b" "$features")
[ -x "$exe_a" ] && [ -x "$exe_b" ] || { echo "build failed: '$exe_a' '$exe_b'" >&2; exit 1; }

# Instructions of one `--test` run of binary $1 selecting exactly $2 (the largest count
# of the processes valgrind reports: criterion also starts a probe for gnuplot).
instructions() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$1" --bench --test --exact "$2" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d , | sort -n | tail -n1
}

# "name value" per benchmark of one run of binary $1: criterion's median time in ns, or
# (instr mode) the instructions of one iteration.
run() {
    if [ "$mode" = instr ]; then
        local fixed
        fixed=$(instructions "$1" "no benchmark has this name")
        "$1" --list 2>/dev/null | sed -n 's/: benchmark$//p' | grep -- "$filter" | while read -r name; do
            echo "$name $(( $(instructions "$1" "$name") - fixed ))"
        done
        return
    fi
    run_time "$1"
}

run_time() {
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
    echo "A/B: A = $base, B = ${head_commit:-$(git rev-parse --short HEAD) + working tree}${features:+ with --features $features}"
    echo "measure: $mode; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $rounds interleaved rounds, filter '$filter'"
    echo
    printf '%-58s %-40s %s\n' benchmark "B/A per round" "median B/A"
    join <(awk '{print $2"#"$1, $3}' "$tmp/a" | sort) <(awk '{print $2"#"$1, $3}' "$tmp/b" | sort) |
        awk '{ split($1, k, "#"); r[k[1]] = r[k[1]] sprintf("%.3f ", $3 / $2) }
             END { for (n in r) print n, r[n] }' | sort |
        while read -r name ratios; do
            med=$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
            printf '%-58s %-40s %s\n' "$name" "$ratios" "$med"
        done
}
if [ -n "$out" ]; then report | tee "$out"; else report; fi
