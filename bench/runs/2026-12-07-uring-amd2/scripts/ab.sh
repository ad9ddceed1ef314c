#!/bin/bash
# ab.sh OUT ROUNDS: c10k uring and monoio (coop) alternating, each beside tokio; CONNS/SIZE from env
OUT=$1; N=$2; mkdir -p $OUT; cd /work/main
line() { echo "$1 $2 $(head -1 $OUT/$1-$2/result.txt | awk '{print $7, $9, $10}') p99 $(sed -n 2p $OUT/$1-$2/result.txt | awk '{print $5}')" >> $OUT/summary.txt; }
for i in $(seq 1 $N); do
  bench/pair.sh /tmp/u/c10k-base $OUT/c10k-$i > /dev/null 2>&1; line c10k $i
  MONOIO_TASKRUN=coop SERVER=/tmp/u/monoio bench/pair.sh /tmp/u/c10k-base $OUT/monoio_coop-$i > /dev/null 2>&1; line monoio_coop $i
done
