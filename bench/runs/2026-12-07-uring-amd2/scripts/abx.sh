#!/bin/bash
# abx.sh OUT ROUNDS VARIANT... (VARIANT = "NAME:ENV=V,ENV=V" or "base:"); CONNS/SIZE from env
OUT=$1; R=$2; shift 2; mkdir -p $OUT
cd /work/main
for r in $(seq 1 $R); do for v in "$@"; do
  name=${v%%:*}; envs=${v#*:}
  env ${envs//,/ } bench/pair.sh /tmp/u/c10k-x $OUT/$name-$r > /dev/null 2>&1
  echo "$name $r $(head -1 $OUT/$name-$r/result.txt | awk '{print $7}') p99 $(sed -n 2p $OUT/$name-$r/result.txt | awk '{print $5}')" >> $OUT/summary.txt
done; done
