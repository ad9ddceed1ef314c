#!/bin/bash
# abx.sh OUT CONNS SIZE ROUNDS VARIANT... (VARIANT = "NAME:ENV=V,ENV=V" or "base:")
OUT=$1; C=$2; S=$3; R=$4; shift 4; mkdir -p $OUT
for r in $(seq 1 $R); do for v in "$@"; do
  name=${v%%:*}; envs=${v#*:}
  env ${envs//,/ } CONNS=$C SIZE=$S DUR=5 "$(dirname "$0")"/../../pair.sh /tmp/u/c10k-x $OUT/$name-$r > /dev/null
  echo "$name r=$r $(tr '\n' ' ' < $OUT/$name-$r/result.txt)"
done; done
