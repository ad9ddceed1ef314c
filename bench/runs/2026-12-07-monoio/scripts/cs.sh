#!/bin/bash
# cs.sh OUT [env...]: like pair.sh, also prints voluntary/nonvoluntary context switches of both servers over the load
OUT=$1; mkdir -p $OUT
if [ -n "$SERVER" ]; then taskset -c 0 $SERVER 127.0.0.1:7101 > /dev/null 2>&1 & U=$!
else taskset -c 0 ${BIN:-/tmp/u/c10k-base} echo --model uring --listen 127.0.0.1:7101 > /dev/null 2>&1 & U=$!; fi
taskset -c 0 /tmp/u/c10k-base __tokio-echo --listen 127.0.0.1:7102 > /dev/null 2>&1 & T=$!
sleep 0.5
cs() { grep -E '^(non)?voluntary' /proc/$1/status | awk '{printf "%s ", $2}'; }
a=$(cs $U); b=$(cs $T)
taskset -c 1 /tmp/u/c10k-base load echo --target 127.0.0.1:7101 -c 1000 --size 64 -d 8 --json > $OUT/lu.json 2>/dev/null & LU=$!
taskset -c 1 /tmp/u/c10k-base load echo --target 127.0.0.1:7102 -c 1000 --size 64 -d 8 --json > $OUT/lt.json 2>/dev/null & LT=$!
wait $LU $LT
c=$(cs $U); d=$(cs $T)
kill -INT $U $T; kill -TERM $U 2>/dev/null; wait $U $T 2>/dev/null
python3 -c "
import json
a='$a'.split(); c='$c'.split(); b='$b'.split(); d='$d'.split()
u=json.load(open('$OUT/lu.json'))['latency_us']['p99']; t=json.load(open('$OUT/lt.json'))['latency_us']['p99']
print('server vol', int(c[0])-int(a[0]), 'invol', int(c[1])-int(a[1]), '| tokio vol', int(d[0])-int(b[0]), 'invol', int(d[1])-int(b[1]), '| p99 ratio %.3f' % (u/t))"
