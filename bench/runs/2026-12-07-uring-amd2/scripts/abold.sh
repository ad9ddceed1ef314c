#!/bin/bash
# abold.sh OUT ROUNDS: HEAD and 0b1ad32 (old) uring servers alternating, each beside tokio
OUT=$1; N=$2; mkdir -p $OUT; cd /work/main
line() { echo "$1 $2 $(head -1 $OUT/$1-$2/result.txt | awk '{print $7, $9, $10}') p99 $(sed -n 2p $OUT/$1-$2/result.txt | awk '{print $5}')" >> $OUT/summary.txt; }
for i in $(seq 1 $N); do
  bench/pair.sh /tmp/u/c10k-base $OUT/head-$i > /dev/null 2>&1; line head $i
  bench/pair.sh /tmp/u/c10k-old $OUT/old-$i > /dev/null 2>&1; line old $i
done
