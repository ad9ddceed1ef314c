#!/bin/bash
# alternate: c10k uring vs tokio, monoio vs tokio; N rounds at CONNS x SIZE
OUT=$1; N=$2; mkdir -p $OUT
cd /work/main
for i in $(seq 1 $N); do
  bench/pair.sh /tmp/u/c10k-base $OUT/c10k-$i > /dev/null 2>&1
  echo "c10k $i $(head -1 $OUT/c10k-$i/result.txt | awk '{print $7, $9, $10}') p99 $(sed -n 2p $OUT/c10k-$i/result.txt | awk '{print $5}')" >> $OUT/summary.txt
  SERVER=/work/tgt-monoio/release/c10k-monoio-ref bench/pair.sh /tmp/u/c10k-base $OUT/monoio-$i > /dev/null 2>&1
  echo "monoio $i $(head -1 $OUT/monoio-$i/result.txt | awk '{print $7, $9, $10}') p99 $(sed -n 2p $OUT/monoio-$i/result.txt | awk '{print $5}')" >> $OUT/summary.txt
done
