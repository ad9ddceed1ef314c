#!/bin/bash
# schedpair.sh OUT: a pair (env SERVER/MODEL as pair.sh) with perf sched record on CPU 0 for 3 s in the middle
OUT=$1; mkdir -p $OUT
cd /work/main
(sleep 3; perf sched record -C 0 -o $OUT/sched.data -- sleep 3 > /dev/null 2>&1) &
bench/pair.sh /tmp/u/c10k-base $OUT/pair > /dev/null 2>&1
wait
perf sched latency -i $OUT/sched.data 2>/dev/null | grep -E 'c10k|monoio|Task' | head -8
head -2 $OUT/pair/result.txt
