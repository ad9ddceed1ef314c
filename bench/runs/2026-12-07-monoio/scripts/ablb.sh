#!/bin/bash
# alternate load-generator backends: epoll, uring; N rounds
OUT=$1; N=$2; mkdir -p $OUT
for i in $(seq 1 $N); do
  for lb in epoll uring; do
    LB=$lb bench/pair.sh /tmp/u/c10k-base $OUT/$lb-$i > /dev/null 2>&1
    echo "$lb $i $(head -1 $OUT/$lb-$i/result.txt | awk '{print $7}') p99 $(sed -n 2p $OUT/$lb-$i/result.txt | awk '{print $5}')" >> $OUT/summary.txt
  done
done
