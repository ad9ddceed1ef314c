#!/bin/bash
# ab.sh OUT CONNS SIZE ROUNDS
OUT=$1; mkdir -p $OUT
for r in $(seq 1 $4); do for sb in 0 16 8; do
  C10K_SB=$sb CONNS=$2 SIZE=$3 DUR=5 "$(dirname "$0")"/../../pair.sh /tmp/u/c10k-sb $OUT/sb$sb-$r > /dev/null
  echo "sb=$sb r=$r $(tr '\n' ' ' < $OUT/sb$sb-$r/result.txt)"
done; done
