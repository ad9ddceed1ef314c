#!/bin/sh
# Alternates per round: `c10k lab --quick` with the 4 KiB-buffer build, then the 2 KiB build,
# each side by side with tokio (compare the uring ÷ tokio ratios).
# Usage: ab_cpu.sh ROUNDS OLD_BINARY NEW_BINARY OUTDIR
for r in $(seq 1 "$1"); do
  for v in old new; do
    if [ $v = old ]; then b="$2"; else b="$3"; fi
    "$b" lab --quick --models uring --sizes 64,1024 --runs 3 --duration 2 --idle 1000 \
      > "$4/round-$r-$v.stdout" 2> "$4/round-$r-$v.stderr"
  done
done
