#!/bin/bash
# alternate: c10k uring, monoio default, coop, defer (each vs tokio); N rounds at CONNS x SIZE
OUT=$1; N=$2; mkdir -p $OUT
cd /work/main
M=/work/tgt-monoio2/release/c10k-monoio-ref
line() { echo "$1 $2 $(head -1 $OUT/$1-$2/result.txt | awk '{print $7, $9, $10}') p99 $(sed -n 2p $OUT/$1-$2/result.txt | awk '{print $5}')" >> $OUT/summary.txt; }
for i in $(seq 1 $N); do
  bench/pair.sh /tmp/u/c10k-base $OUT/c10k-$i > /dev/null 2>&1; line c10k $i
  SERVER=$M bench/pair.sh /tmp/u/c10k-base $OUT/monoio-$i > /dev/null 2>&1; line monoio $i
  MONOIO_TASKRUN=coop SERVER=$M bench/pair.sh /tmp/u/c10k-base $OUT/monoio_coop-$i > /dev/null 2>&1; line monoio_coop $i
  MONOIO_TASKRUN=defer SERVER=$M bench/pair.sh /tmp/u/c10k-base $OUT/monoio_defer-$i > /dev/null 2>&1; line monoio_defer $i
done
